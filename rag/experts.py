"""Expert ranking, document-centric (Balog et al. 2006, "Model 2").

score(person) = sum over evidence e of  relevance(e) * association(person, e), normalised to sum 1.

relevance(e) = 1 / (1 + rank of e's document) ** RANK_DECAY, x1.5 when the answer quotes it, x how much
of the question's key terms e holds (``_topical``: a hit that holds none keeps OFF_TOPIC of its weight).
Association is passage-level: for a thread, the people whose replies to the asker carry the evidence
(rag.threads.answer: acknowledged replies count more, ask-backs less; the asker of a quoted thread and bots
never count); for a page, the author of the quoted lines first (git blame or the authors list's main
contributor), others with decaying weight.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from rag.evidence import coverage, query_terms
from rag.generators.base import Quote
from rag.people import PeopleDirectory
from rag.text import strip_furniture
from rag.threads.answer import asker, credit, is_structured, opener, replied_to, where
from rag.types import Expert, Hit

RANK_DECAY = 0.75
# How much a hit that holds none of the question's key terms still counts as evidence (see _topical).
OFF_TOPIC = 0.2


def _rank_weights(names: tuple[str, ...]) -> dict[str, float]:
    raw = {n: 1.0 / (i + 1) for i, n in enumerate(dict.fromkeys(names))}
    total = sum(raw.values()) or 1.0
    return {n: w / total for n, w in raw.items()}


def associations(hit: Hit, question_terms: list[str], idf: Callable[[str], float],
                 quoted: list[Quote]) -> dict[str, float]:
    """How strongly each person is tied to this piece of evidence (sums to 1)."""
    chunk = hit.chunk
    if quoted:
        weights: dict[str, float] = defaultdict(float)
        for q in quoted:
            for name, w in _rank_weights(q.authors).items():
                weights[name] += w * max(q.score, 0.05) * q.weight
        total = sum(weights.values()) or 1.0
        return {n: w / total for n, w in weights.items()}
    if chunk.messages and is_structured(chunk.messages):
        # A thread: only the replies to the asker earn credit, by the thread credit rule.
        weights = defaultdict(float)
        credits = credit(chunk.messages)
        for m in chunk.messages:
            if m.id in credits:
                c = coverage(question_terms, strip_furniture(m.text), idf) + 0.05
                weights[m.author] = max(weights[m.author], c * credits[m.id])
        total = sum(weights.values()) or 1.0
        return {n: w / total for n, w in weights.items()}
    if chunk.messages:
        # Each author counts by their single most relevant message, not by how many they sent.
        best: dict[str, float] = {}
        for m in chunk.messages:
            if m.role == "bot":
                continue
            c = coverage(question_terms, strip_furniture(m.text), idf) + 0.05
            best[m.author] = max(best.get(m.author, 0.0), c)
        total = sum(best.values()) or 1.0
        return {n: w / total for n, w in best.items()}
    return _rank_weights(chunk.authors or chunk.doc_authors)


def rank_experts(question: str, hits: list[Hit], *, quotes: list[Quote], people: PeopleDirectory,
                 idf: Callable[[str], float], limit: int = 5) -> list[Expert]:
    """The colleagues most associated with the evidence, with why and how recent."""
    if not hits:
        return []
    terms = query_terms(question)
    # Relevance of a piece of evidence by its document's rank, 1 / (1 + rank) ** 0.75, not by the fused
    # score: fused scores sit close together, so a lone replier in the fifth thread outscored the three
    # people who answered in the first (threadset expert P@1 0.68 with score ratios, 0.92 with this; data/
    # unchanged at 0.854; exponents 0.5 / 1 / 2 gave threadset 0.86 / 0.95 / 0.97 but data/ 0.854 / 0.833 /
    # 0.812 - README, "Threads").
    doc_rank: dict[str, int] = {}
    for h in hits:
        doc_rank.setdefault(h.chunk.doc_id, len(doc_rank))
    scores: dict[str, float] = defaultdict(float)
    evidence: dict[str, list[str]] = defaultdict(list)
    titles: dict[str, list[str]] = defaultdict(list)
    last: dict[str, str] = {}
    by_chunk: dict[str, list[Quote]] = defaultdict(list)
    for q in quotes:
        by_chunk[q.hit.chunk.chunk_id].append(q)
    # The asker of a thread whose replies answer this question is never the expert on it.
    askers = {asker(q.hit.chunk.messages) for q in quotes if q.message is not None} - {None}
    answered: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for h in hits:
        quoted = by_chunk.get(h.chunk.chunk_id, [])
        rel = (1.0 / (1 + doc_rank[h.chunk.doc_id])) ** RANK_DECAY * (1.5 if quoted else 1.0)
        rel *= _topical(h, terms, idf)
        for name, a in associations(h, terms, idf, quoted).items():
            if not name or name == "unknown" or name in askers:
                continue
            if h.chunk.messages and is_structured(h.chunk.messages) and len(answered[name]) < 2:
                first = opener(h.chunk.messages)
                own_post = first is not None and first.role == "post" and first.author == name
                phrase = "wrote the post" if own_post else f"answered {replied_to(h.chunk.messages)}"
                answered[name].append((h.chunk.doc_id, f"{phrase}{where(h.chunk)}"))
            scores[name] += rel * a
            if h.chunk.doc_id not in evidence[name]:
                evidence[name].append(h.chunk.doc_id)
                titles[name].append(h.chunk.title)
            if h.chunk.date and h.chunk.date > last.get(name, ""):
                last[name] = h.chunk.date
    total = sum(scores.values()) or 1.0
    out = []
    best = max(scores.values(), default=0.0)
    # People tied only to a marginal hit are noise on the people cards, not someone to ask.
    ranked = [(n, s) for n, s in sorted(scores.items(), key=lambda kv: -kv[1]) if s >= 0.15 * best]
    for name, s in ranked[:limit]:
        person = people.get(name)
        why = _why(list(zip(evidence[name], titles[name], strict=True)),
                   quoted={q.hit.chunk.doc_id for q in quotes if name in q.authors},
                   answered=answered.get(name, []))
        if last.get(name):
            why += f" (latest {last[name][:10]})"
        out.append(Expert(name=name, score=round(s / total, 4), team=person.team if person else None,
                          active=person.active if person else None, evidence=tuple(evidence[name]),
                          why=why, last_seen=last.get(name)))
    return out


def _topical(hit: Hit, terms: list[str], idf: Callable[[str], float]) -> float:
    """How much of the topic a hit is about: OFF_TOPIC + (1 - OFF_TOPIC) x its key-term coverage.

    Retrieval always returns k hits, on topic or not. Without this, the author of two unrelated pages at
    ranks 2 and 3 outscored the only author of the one page on the topic (1/2**0.75 + 1/3**0.75 > 1), and
    which unrelated pages came next depended on how ids hashed - /experts named a different person per
    machine. Dense-only matches, which share no term, keep OFF_TOPIC of their weight."""
    c = hit.chunk
    return OFF_TOPIC + (1.0 - OFF_TOPIC) * coverage(terms, f"{c.title}\n{c.section}\n{c.text}", idf)


def _why(sources: list[tuple[str, str]], *, quoted: set[str], answered: Sequence[tuple[str, str]] = ()) -> str:
    """Why a person is suggested, e.g. "answered X's question in #ops on DATE; wrote the quoted lines in 'A'".

    ``sources`` are (doc id, title) in evidence order; only documents whose quoted lines this person wrote
    (``quoted`` doc ids) are called quoted. ``answered`` are (thread doc id, phrase), named first and not
    repeated as titles. At most three titles are named.
    """
    threads = {d for d, _ in answered}
    sources = [s for s in sources if s[0] not in threads]
    shown = ([s for s in sources if s[0] in quoted] + [s for s in sources if s[0] not in quoted])[:3]
    parts = [phrase for _, phrase in answered]
    if mine := [t for d, t in shown if d in quoted]:
        parts.append("wrote the quoted lines in " + "; ".join(f"'{t}'" for t in mine))
    if others := [t for d, t in shown if d not in quoted]:
        parts.append(("also wrote " if parts else "wrote ") + "; ".join(f"'{t}'" for t in others))
    more = len(sources) - len(shown)
    return "; ".join(parts) + (f" and {more} more" if more > 0 else "")
