"""Expertise profiles: who knows what, before anyone has a question.

For each colleague, the chunks they are credited for (:mod:`rag.profiles.credit`) are clustered and labelled
exactly as the gap report groups questions (:func:`rag.topics.find_topics`: average-linkage cosine clusters,
c-TF-IDF labels); a topic's weight is the sum of their credit over its chunks, so a page they wrote alone
outweighs one they co-wrote. The query log adds how often answers quoted their lines and named them.

Access: everything is built from the chunks the caller's groups may read (``groups=None``: no check, the
CLI). A person seen only in unreadable sources is unknown to that caller, exactly like someone who never
existed; people in the directory (``people.yaml``, readable by everyone) are listed even with no evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.access import can_read
from rag.engine import QueryEngine
from rag.errors import NotFound
from rag.gaps import visible_to
from rag.profiles.credit import Credit, credits
from rag.profiles.types import PersonSummary, Profile, ProfileEvidence, ProfileTopic
from rag.text import embed_text
from rag.topics import find_topics
from rag.types import Chunk

TOPICS = 5
TOPIC_EVIDENCE = 5
SUMMARY_TOPICS = 3
NEAR = 0.5


@dataclass
class Holdings:
    """The credits over everything one caller may read, by person, with every readable chunk's vector."""

    by_person: dict[str, list[Credit]]
    quoted: dict[str, dict[str, int]]  # person -> doc id -> logged answers quoting their lines there
    suggested: dict[str, int]
    rows: dict[str, int]  # chunk id -> row of ``vectors``
    vectors: np.ndarray  # unit rows
    mass: np.ndarray  # per row: everyone's credit on that chunk together

    def names(self) -> list[str]:
        """Everyone credited for something readable."""
        return list(self.by_person)


def holdings(engine: QueryEngine, *, groups: tuple[str, ...] | None) -> Holdings:
    """Who holds what among the chunks ``groups`` may read, with the query log's citations of them."""
    chunks = [c for c in engine.bm25.all_chunks() if can_read(c.access, groups)]
    by_person: dict[str, list[Credit]] = defaultdict(list)
    rows = {c.chunk_id: i for i, c in enumerate(chunks)}
    mass = np.zeros(len(chunks))
    for cr in credits(chunks, engine.people):
        by_person[cr.name].append(cr)
        mass[rows[cr.chunk.chunk_id]] += cr.weight
    quoted: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    suggested: dict[str, int] = defaultdict(int)
    if engine.query_log is not None:
        for q in visible_to(engine, engine.query_log.questions(), groups):
            for name in engine.people.canonical_all(q.experts):
                suggested[name] += 1
            for c in q.citations:
                for name in engine.people.canonical_all(c.authors):
                    quoted[name][c.doc_id] += 1
    return Holdings(by_person=dict(by_person), quoted=quoted, suggested=suggested, rows=rows,
                    vectors=_unit_vectors(engine, chunks), mass=mass)


def _unit_vectors(engine: QueryEngine, chunks: list[Chunk]) -> np.ndarray:
    """The stored vector of every chunk (embedded here only if the store has none for it), as unit rows."""
    if not chunks:
        return np.zeros((0, engine.embedder.dim))
    stored = engine.store.vectors([c.chunk_id for c in chunks])
    missing = [i for i, c in enumerate(chunks) if c.chunk_id not in stored]
    extra: dict[int, np.ndarray] = {}
    if missing:  # never expected; embedding keeps the topics whole rather than dropping the chunk
        fresh = engine.embedder.embed_documents([embed_text(chunks[i]) for i in missing])
        extra = dict(zip(missing, fresh, strict=True))
    m = np.asarray([stored[c.chunk_id] if c.chunk_id in stored else extra[i] for i, c in enumerate(chunks)],
                   dtype=np.float64)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)


def list_people(engine: QueryEngine, *, groups: tuple[str, ...] | None = None,
                team: str | None = None) -> list[PersonSummary]:
    """Everyone the caller may know of, most knowledge first; with ``team``, that team's members ranked by
    their share of the team's knowledge (who to meet first)."""
    held = holdings(engine, groups=groups)
    directory = [p.name for p in engine.people.all()]
    names = list(dict.fromkeys(directory + held.names()))
    if team is not None:
        names = [n for n in names if (_team(engine, n) or "").casefold() == team.casefold()]
        if not names:
            teams = sorted({p.team for p in engine.people.all() if p.team})
            raise NotFound(f"No team named {team!r} in the people directory - teams: {', '.join(teams) or 'none'}")
    out = [_summary(engine, held, n, topics=_topics(engine, held, held.by_person.get(n, []))) for n in names]
    if team is not None:
        total = sum(p.knowledge for p in out) or 1.0
        out = [p.model_copy(update={"share": round(p.knowledge / total, 4)}) for p in out]
    return sorted(out, key=lambda p: (-p.knowledge, p.name))


def profile(engine: QueryEngine, name: str, *, groups: tuple[str, ...] | None = None) -> Profile:
    """What ``name`` (a name, alias or e-mail) knows, from what the caller may read."""
    canonical = engine.people.canonical(name)
    held = holdings(engine, groups=groups)
    person = engine.people.get(canonical)
    if person is None and canonical not in held.by_person:
        raise NotFound(f"No colleague named {name!r} - names come from GET /people or the people cards.")
    mine = held.by_person.get(canonical, [])
    topics = _topics(engine, held, mine)
    base = _summary(engine, held, canonical, topics=topics)
    quoted = held.quoted.get(canonical, {})
    return Profile(**base.model_dump(), aliases=person.aliases if person else (), strongest=tuple(topics),
                   evidence=tuple(_evidence(mine, quoted)), cited=sum(quoted.values()),
                   suggested=held.suggested.get(canonical, 0))


def _team(engine: QueryEngine, name: str) -> str | None:
    person = engine.people.get(name)
    return person.team if person else None


def _summary(engine: QueryEngine, held: Holdings, name: str, *, topics: Sequence[ProfileTopic]) -> PersonSummary:
    mine = held.by_person.get(name, [])
    person = engine.people.get(name)
    docs = {cr.chunk.doc_id: cr.role for cr in mine}
    stamps = [cr.last for cr in mine if cr.last]
    return PersonSummary(name=name, team=person.team if person else None, active=person.active if person else None,
                         knowledge=round(sum(cr.weight for cr in mine), 4),
                         pages=sum(r in ("page", "retro") for r in docs.values()),
                         answers=sum(r in ("answered", "posted") for r in docs.values()),
                         topics=tuple(t.label for t in topics[:SUMMARY_TOPICS]),
                         last_active=max(stamps)[:10] if stamps else None)


def _topics(engine: QueryEngine, held: Holdings, mine: list[Credit]) -> list[ProfileTopic]:
    """Their credited chunks clustered like the gap report's questions, strongest source first.

    Clusters come from the chunks' vectors; labels from their titles and sections (chat filler such as
    "ah" or a nick would otherwise name a topic). A topic's strength is their credit on it times their share
    of everyone's credit on the chunks around it (every readable chunk as close to its centroid as its
    loosest member, and at least :data:`NEAR`): the owner of a system ranks its topic above a busier one
    where many colleagues hold as much."""
    if not mine:
        return []
    rows = [held.rows[cr.chunk.chunk_id] for cr in mine]
    vectors = held.vectors[rows]
    found = find_topics([_label_text(cr.chunk) for cr in mine], vectors,
                        distance=engine.settings.gaps_cluster_distance)
    weights = np.zeros(len(held.rows))
    for cr, r in zip(mine, rows, strict=True):
        weights[r] += cr.weight
    out = []
    for t in found:
        members = [mine[i] for i in t.members]
        centroid = vectors[list(t.members)].mean(axis=0)
        sims = held.vectors @ (centroid / (np.linalg.norm(centroid) or 1.0))
        own = [rows[i] for i in t.members]
        # Around the topic: every readable chunk at least as close to its centroid as its own loosest member.
        near = sims >= max(float(sims[own].min()) - 1e-9, NEAR)
        near[own] = True
        share = float(weights[near].sum() / (held.mass[near].sum() or 1.0))
        weight = sum(cr.weight for cr in members)
        out.append(ProfileTopic(label=t.label, terms=t.terms, weight=round(weight, 4), share=round(share, 4),
                                strength=round(weight * share, 4),
                                evidence=tuple(_evidence(members, {})[:TOPIC_EVIDENCE])))
    return sorted(out, key=lambda t: (-t.strength, t.label))[:TOPICS]


def _label_text(c: Chunk) -> str:
    """What names a chunk's topic: its document's title and its section; a thread's opening question."""
    opening = " ".join(m.text for m in c.messages if m.role in ("question", "post"))
    return " ".join(x for x in (c.title, c.section, opening) if x)


def _evidence(mine: list[Credit], quoted: dict[str, int]) -> list[ProfileEvidence]:
    """One line per document, heaviest first."""
    weight: dict[str, float] = defaultdict(float)
    first: dict[str, Credit] = {}
    for cr in mine:
        weight[cr.chunk.doc_id] += cr.weight
        first.setdefault(cr.chunk.doc_id, cr)
    out = []
    for doc_id, cr in first.items():
        c = cr.chunk
        out.append(ProfileEvidence(doc_id=doc_id, title=c.title, kind=c.kind, source=c.source, url=c.url,
                                   date=c.date, role=cr.role, why=cr.why, weight=round(weight[doc_id], 4),
                                   quoted=quoted.get(doc_id, 0)))
    return sorted(out, key=lambda e: (-e.weight, -e.quoted, e.title))
