"""Group similar questions into topics and name each topic by its most characteristic terms.

Clustering is agglomerative (average linkage on cosine distance, cut at a distance threshold), so the number
of topics follows from the questions and the same log always gives the same topics. Labels are
class-based TF-IDF (as in BERTopic's c-TF-IDF): a term ranks high when many questions of the topic use it
and few questions of other topics do.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from rag.text import key_terms, stem


@dataclass(frozen=True)
class Topic:
    """Indexes of the questions in one topic, most central first, and the topic's label terms."""

    members: tuple[int, ...]
    terms: tuple[str, ...]

    @property
    def label(self) -> str:
        """The label shown in reports: the characteristic terms joined."""
        return " / ".join(self.terms) or "(no distinctive terms)"


def cluster(vectors: np.ndarray, *, distance: float) -> list[list[int]]:
    """Row indexes grouped by cosine distance; groups in order of their first member."""
    n = len(vectors)
    if n < 2:
        return [[0]] if n else []
    norms = np.linalg.norm(np.asarray(vectors, dtype=np.float64), axis=1)
    if not norms.all():
        # A question with nothing to embed (no word the embedder knows) has no direction: cosine distance is
        # undefined for it, so it stands alone instead of failing the whole report.
        rest = [i for i in range(n) if norms[i] > 0]
        alone = [[i] for i in range(n) if norms[i] == 0]
        found = [[rest[j] for j in g] for g in cluster(vectors[rest], distance=distance)] if rest else []
        return sorted(found + alone, key=lambda g: g[0])
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, distance_threshold=distance, metric="cosine",
                                    linkage="average")
    labels = model.fit_predict(np.asarray(vectors, dtype=np.float64))
    groups: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        groups.setdefault(int(lab), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def by_centrality(vectors: np.ndarray, members: list[int]) -> list[int]:
    """``members`` ordered by cosine similarity to their centroid (ties by index, so deterministic)."""
    sub = np.asarray(vectors[members], dtype=np.float64)
    centroid = sub.mean(axis=0)
    norm = np.linalg.norm(centroid) or 1.0
    sims = sub @ (centroid / norm)
    return [m for _, m in sorted(zip((-round(float(s), 9) for s in sims), members, strict=True))]


def characteristic_terms(groups: list[list[str]], *, top: int = 3) -> list[tuple[str, ...]]:
    """c-TF-IDF: per group of texts, the ``top`` terms that most distinguish it from the other groups."""
    tfs: list[Counter[str]] = []
    surface: dict[str, Counter[str]] = {}
    for texts in groups:
        tf: Counter[str] = Counter()
        for text in texts:
            # A term counts once per question, so one wordy question cannot name the topic alone.
            terms = {stem(t): t for t in key_terms(text) if any(ch.isalpha() for ch in t)}
            tf.update(terms.keys())
            for s, t in terms.items():
                surface.setdefault(s, Counter())[t] += 1
        tfs.append(tf)
    freq: Counter[str] = Counter()
    for tf in tfs:
        freq.update(tf)
    avg = sum(sum(tf.values()) for tf in tfs) / max(len(tfs), 1)
    out = []
    for tf in tfs:
        scored = sorted(tf, key=lambda s: (-tf[s] * math.log(1 + avg / freq[s]), s))
        out.append(tuple(surface[s].most_common(1)[0][0] for s in scored[:top]))
    return out


def find_topics(texts: list[str], vectors: np.ndarray, *, distance: float, top_terms: int = 3) -> list[Topic]:
    """Topics of ``texts`` (rows of ``vectors`` embed them), largest first."""
    groups = [by_centrality(vectors, g) for g in cluster(vectors, distance=distance)]
    labels = characteristic_terms([[texts[i] for i in g] for g in groups], top=top_terms)
    topics = [Topic(members=tuple(g), terms=terms) for g, terms in zip(groups, labels, strict=True)]
    return sorted(topics, key=lambda t: (-len(t.members), min(t.members)))
