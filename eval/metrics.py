"""Scoring functions of the evaluation harness: pure, typed, no I/O and no model.

A metric returns ``None`` where it is undefined for a question (recall with no gold source,
precision with nothing cited); :func:`mean` skips those, so a family's average is taken over the
questions it applies to. A retrieved or cited document is given as the tuple of its source ids,
because one document may be stored under several paths.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from eval.gold import source_matches

Doc = tuple[str, ...]

# --- retrieval -------------------------------------------------------------------------------------


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _matched(doc: Doc, gold: Sequence[str]) -> set[str]:
    """The gold sources that any path of ``doc`` matches (thread anchors included)."""
    return {g for g in gold if any(source_matches(path, g) for path in doc)}


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def recall_at_k(retrieved: Sequence[Doc], gold: Sequence[str], *, k: int) -> float | None:
    """Share of the distinct gold sources matched by a document in the top ``k``; None without gold."""
    _check_k(k)
    wanted = _unique(gold)
    if not wanted:
        return None
    found: set[str] = set()
    for doc in retrieved[:k]:
        found |= _matched(doc, wanted)
    return len(found) / len(wanted)


def mrr(retrieved: Sequence[Doc], gold: Sequence[str]) -> float | None:
    """Reciprocal rank of the first document matching a gold source (0.0 if none); None without gold."""
    if not gold:
        return None
    for rank, doc in enumerate(retrieved, start=1):
        if _matched(doc, gold):
            return 1.0 / rank
    return 0.0


def ndcg_at_k(retrieved: Sequence[Doc], gold: Sequence[str], *, k: int = 10) -> float | None:
    """nDCG@k with binary relevance; None without gold.

    A document has gain 1 when it matches a gold source no earlier document matched, so a second
    thread of the same gold file earns nothing. The ideal ranking puts one document per distinct gold
    source first: IDCG = sum of 1/log2(i + 1) for i = 1..min(#gold, k).
    """
    _check_k(k)
    wanted = _unique(gold)
    if not wanted:
        return None
    credited: set[str] = set()
    dcg = 0.0
    for rank, doc in enumerate(retrieved[:k], start=1):
        new = _matched(doc, wanted) - credited
        if new:
            credited |= new
            dcg += 1.0 / math.log2(rank + 1)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(wanted), k) + 1))
    return dcg / ideal


# --- citations -------------------------------------------------------------------------------------


def _squash(text: str) -> str:
    """Whitespace collapsed and case folded: the form in which evidence is looked for verbatim."""
    return " ".join(text.split()).casefold()


def citation_precision(
    cited: Sequence[Doc],
    gold_sources: Sequence[str],
    *,
    cited_texts: Sequence[str] | None = None,
    evidence: Sequence[str] | None = None,
) -> float | None:
    """Share of cited documents that are gold sources or quote gold evidence; None when nothing is cited.

    ``cited_texts[i]`` is the text of ``cited[i]``; a citation counts when that text contains a gold
    evidence fragment after whitespace and case normalisation. Citing anything for a question with
    no gold source and no evidence scores 0.0.
    """
    if cited_texts is not None and len(cited_texts) != len(cited):
        raise ValueError(f"{len(cited_texts)} cited texts for {len(cited)} cited documents")
    if not cited:
        return None
    fragments = [f for f in (_squash(e) for e in evidence or ()) if f]
    good = 0
    for i, doc in enumerate(cited):
        text = _squash(cited_texts[i]) if cited_texts is not None else ""
        if _matched(doc, gold_sources) or any(f in text for f in fragments):
            good += 1
    return good / len(cited)


def citation_recall(cited: Sequence[Doc], gold_sources: Sequence[str]) -> float | None:
    """Share of the distinct gold sources some cited document matches; None without gold sources."""
    wanted = _unique(gold_sources)
    if not wanted:
        return None
    found: set[str] = set()
    for doc in cited:
        found |= _matched(doc, wanted)
    return len(found) / len(wanted)


# --- answers ---------------------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ASCII_PUNCT = frozenset(string.punctuation)


def normalize_text(text: str) -> str:
    """SQuAD normalisation: lower-case, drop punctuation, drop a/an/the, collapse whitespace.

    Unicode punctuation (curly quotes, dashes) is dropped too, not only ASCII punctuation, so a
    typographic apostrophe does not split a word the reference spells with a straight one.
    """
    text = text.lower()
    text = "".join(
        ch for ch in text if ch not in _ASCII_PUNCT and not unicodedata.category(ch).startswith("P")
    )
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _f1_counts(pred: Sequence[str], ref: Sequence[str]) -> float:
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 over normalised tokens; 1.0 when both are empty, 0.0 when only one is."""
    pred, ref = normalize_text(prediction).split(), normalize_text(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    return _f1_counts(pred, ref)


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (beta = 1) of the longest common token subsequence, on normalised tokens.

    1.0 when both texts are empty, 0.0 when only one is.
    """
    pred, ref = normalize_text(prediction).split(), normalize_text(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    lcs = _lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def _best_window_f1(fragment: Sequence[str], text: Sequence[str]) -> float:
    """Token F1 of ``fragment`` against the best window of ``text`` of the fragment's length."""
    if not text:
        return 0.0
    width = min(len(fragment), len(text))
    return max(_f1_counts(text[i : i + width], fragment) for i in range(len(text) - width + 1))


def evidence_hit(answer_and_quotes: str, evidence: Sequence[str], *, threshold: float = 0.8) -> float | None:
    """Share of gold evidence fragments the answer (with its quotes) contains; None without evidence.

    A fragment is hit when, whitespace and case normalised, it is a substring of the text, or when
    its SQuAD-normalised tokens reach token F1 >= ``threshold`` against the best-matching window of
    the text of the same length (a quote that drops a word or changes punctuation still counts).
    Fragments that are empty after normalisation are ignored.
    """
    text = _squash(answer_and_quotes)
    text_tokens = normalize_text(answer_and_quotes).split()
    fragments = [f for f in evidence if normalize_text(f)]
    if not fragments:
        return None
    hits = 0
    for fragment in fragments:
        if _squash(fragment) in text or (
            _best_window_f1(normalize_text(fragment).split(), text_tokens) >= threshold
        ):
            hits += 1
    return hits / len(fragments)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors; 0.0 when either is all zeros."""
    if len(a) != len(b):
        raise ValueError(f"vectors of different lengths: {len(a)} and {len(b)}")
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    return dot / norm if norm else 0.0


# --- experts ---------------------------------------------------------------------------------------


def normalize_name(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """Accents stripped (NFKD), case folded, whitespace collapsed, then mapped through ``aliases``.

    ``aliases`` maps normalised alias strings to the canonical normalised name; build it with
    :func:`alias_map`.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    key = " ".join(plain.casefold().split())
    return aliases.get(key, key) if aliases else key


def alias_map(people: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """The ``aliases`` argument of the expert metrics from {canonical name: its aliases}."""
    out: dict[str, str] = {}
    for name, names in people.items():
        canonical = normalize_name(name)
        for alias in (name, *names):
            out[normalize_name(alias)] = canonical
    return out


def _ranked_names(returned: Sequence[str], aliases: Mapping[str, str] | None) -> list[str]:
    """Normalised names, de-duplicated keeping the first rank (an alias and its name are one person)."""
    return _unique(normalize_name(n, aliases) for n in returned)


def expert_p_at_1(
    returned: Sequence[str], gold: Sequence[str], *, aliases: Mapping[str, str] | None = None
) -> float | None:
    """1.0 when the top returned person is any gold expert, else 0.0; None without gold experts."""
    if not gold:
        return None
    ranked = _ranked_names(returned, aliases)
    wanted = {normalize_name(g, aliases) for g in gold}
    return float(bool(ranked) and ranked[0] in wanted)


def asker_p_at_1(
    returned: Sequence[str], asker: str | None, *, aliases: Mapping[str, str] | None = None
) -> float | None:
    """1.0 when the top returned person is the one who asked the question (a wrong credit), else 0.0;
    None when the item names no asker. Lower is better."""
    if not asker:
        return None
    ranked = _ranked_names(returned, aliases)
    return float(bool(ranked) and ranked[0] == normalize_name(asker, aliases))


def expert_strict_p_at_1(
    returned: Sequence[str], gold: Sequence[str], *, aliases: Mapping[str, str] | None = None
) -> float | None:
    """1.0 when the top returned person is the first gold expert, else 0.0; None without gold experts."""
    if not gold:
        return None
    ranked = _ranked_names(returned, aliases)
    return float(bool(ranked) and ranked[0] == normalize_name(gold[0], aliases))


def expert_mrr(
    returned: Sequence[str], gold: Sequence[str], *, aliases: Mapping[str, str] | None = None
) -> float | None:
    """Reciprocal rank of the first gold expert returned (0.0 if none); None without gold experts."""
    if not gold:
        return None
    wanted = {normalize_name(g, aliases) for g in gold}
    for rank, name in enumerate(_ranked_names(returned, aliases), start=1):
        if name in wanted:
            return 1.0 / rank
    return 0.0


def expert_average_precision(
    returned: Sequence[str], gold: Sequence[str], *, aliases: Mapping[str, str] | None = None
) -> float | None:
    """Average precision of the ranked people: the sum of precision@i at each rank i holding a gold
    expert, divided by the number of distinct gold experts (so missing experts count as 0);
    None without gold experts. Its mean over questions is MAP.
    """
    wanted = set(_ranked_names(gold, aliases))
    if not wanted:
        return None
    hits = 0
    total = 0.0
    for rank, name in enumerate(_ranked_names(returned, aliases), start=1):
        if name in wanted:
            hits += 1
            total += hits / rank
    return total / len(wanted)


# --- abstention ------------------------------------------------------------------------------------


class AbstentionScores(BaseModel):
    """How well the system abstains: abstaining on a question that should be abstained on is a hit."""

    model_config = ConfigDict(frozen=True)

    precision: float | None  # of the abstentions, the share that were right; None if it never abstained
    recall: float | None  # of the questions to abstain on, the share abstained on; None if there were none
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int


def abstention_scores(items: Iterable[tuple[bool, bool]]) -> AbstentionScores:
    """Precision and recall of abstaining from (should_abstain, did_abstain) pairs, with the counts."""
    counts = Counter((bool(should), bool(did)) for should, did in items)
    tp, fp = counts[(True, True)], counts[(False, True)]
    fn, tn = counts[(True, False)], counts[(False, False)]
    return AbstentionScores(
        precision=tp / (tp + fp) if tp + fp else None,
        recall=tp / (tp + fn) if tp + fn else None,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        true_negatives=tn,
    )


def crag_score(*, answerable: bool, abstained: bool, cited_gold: bool) -> int:
    """CRAG-style score of one question: right +1, abstained 0, wrong (hallucinated) -1.

    Answerable question: +1 answered citing a gold source, 0 abstained, -1 answered without one.
    Unanswerable question: abstaining is the right answer, +1; answering is a hallucination, -1
    (``cited_gold`` is ignored there, as there is no gold source).
    """
    if not answerable:
        return 1 if abstained else -1
    if abstained:
        return 0
    return 1 if cited_gold else -1


# --- aggregation -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0-100) with linear interpolation, as numpy's default; None if empty."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be between 0 and 100, got {p}")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[float | None]) -> float | None:
    """Arithmetic mean of the values that are not None; None when there are none."""
    kept = [v for v in values if v is not None]
    return math.fsum(kept) / len(kept) if kept else None
