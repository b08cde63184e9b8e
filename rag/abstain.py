"""Should we answer? A small logistic model over signals that separate covered from uncovered questions.

The top cosine alone separates poorly (questions about the organisation's own world score high
even when nothing answers them), so it is combined with: how much of the question's key terms the
best evidence covers (and whether its rarest terms appear at all), whether dense and BM25 agree
on the top document, and the dense score gap. Two signals describe the quotes the answer would use
(:mod:`rag.answers.checks`): whether one holds the kind of answer the question asks for near its focus
terms (``type_match``), and how much of the question's focus - rarest terms, identifiers, proper nouns -
the quotes cover (``focus``). On-topic passages that do not answer share the question's common words but
rarely its focus, and rarely hold a number where it asks "how many".
Coefficients come from ``eval/calibrate.py`` (leave-one-corpus-out on the gold sets) and live in
``abstain_model.json`` next to this file.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

_MODEL = Path(__file__).with_name("abstain_model.json")


@dataclass(frozen=True)
class Signals:
    """Evidence-strength features of one retrieval."""

    dense_top: float
    coverage: float
    agree: float
    gap: float
    bm25_top: float
    rare: float
    type_match: float = 1.0
    focus: float = 1.0
    type_next: float = 1.0

    def vector(self) -> list[float]:
        """The features in :data:`FEATURES` order."""
        return [self.dense_top, self.coverage, self.agree, self.gap, self.bm25_top, self.rare,
                self.type_match, self.focus, self.type_next]

    @classmethod
    def mean(cls, many: list[Signals]) -> Signals:
        """Each signal's mean over ``many`` (a two-part question and its two parts, :mod:`rag.engine`)."""
        return cls(*[sum(v) / len(many) for v in zip(*(s.vector() for s in many), strict=True)])


FEATURES = list(asdict(Signals(0, 0, 0, 0, 0, 0, 0, 0, 0)))


@dataclass(frozen=True)
class AbstainModel:
    """confidence = sigmoid(w . x + b); abstain when confidence < threshold."""

    weights: tuple[float, ...]
    bias: float
    threshold: float

    @classmethod
    def load(cls, path: Path = _MODEL) -> AbstainModel:
        """The calibrated model; a conservative hand-set default when none was calibrated on these features."""
        if path.exists():
            d = json.loads(path.read_text())
            names = d.get("features", FEATURES)
            if names == FEATURES[: len(names)]:
                # A model calibrated before later features existed gives them weight 0 (same confidences).
                weights = (*d["weights"], *[0.0] * (len(FEATURES) - len(names)))
                return cls(tuple(weights), float(d["bias"]), float(d["threshold"]))
        return cls((4.0, 6.0, 1.0, 2.0, 0.0, 2.0, 1.0, 2.0, 0.0), -8.0, 0.5)

    def confidence(self, s: Signals) -> float:
        """Probability-like score that the knowledge base answers the question."""
        z = self.bias + sum(w * x for w, x in zip(self.weights, s.vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-z))
