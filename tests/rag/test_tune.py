"""Label-free calibration: pseudo-queries from the corpus choose the fusion weight, the engine uses it."""

from __future__ import annotations

from pathlib import Path

from rag.config import Settings
from rag.engine import QueryEngine
from rag.tune import (
    DEFAULT_FUSION,
    TUNE_RULE,
    WEIGHTS,
    Tuning,
    choose,
    engine_fusion,
    load_tuning,
    needs_tuning,
    pseudo_queries,
    save_tuning,
    tune,
)
from rag.types import Chunk, Fusion, Message


def _chunk(doc: str, i: int, *, title: str, section: str = "", kind: str = "wiki", text: str = "text",
           messages: tuple[Message, ...] = ()) -> Chunk:
    return Chunk(chunk_id=f"{doc}-{i}", doc_id=doc, index=i, text=text, section=section, title=title,
                 kind=kind, source=f"{doc}.md", messages=messages)  # type: ignore[arg-type]


def test_pseudo_queries_titles_headings_openers():
    opener = Message(author="ana", text="Deploys to staging fail with a certificate error since Monday")
    chunks = [
        _chunk("a", 0, title="Rotating the Twilio token", section="Steps > Revoke the old token"),
        _chunk("a", 1, title="Rotating the Twilio token", section="Overview"),
        _chunk("d", 0, title="Pager rota", section="Swapping a shift"),  # its only section: nothing left to find
        _chunk("b", 0, title="Deploy freeze policy", section="Overview"),
        _chunk("c", 0, title="Deploy freeze policy"),  # a title two pages share names neither
        _chunk("t", 0, title="certs", kind="thread", messages=(opener, Message(author="bo", text="renew it"))),
        _chunk("t", 1, title="certs", kind="thread", text="later reply"),
    ]
    got = {(q.origin, q.query, q.doc_id, q.hide) for q in pseudo_queries(chunks)}
    assert ("title", "Rotating the Twilio token", "a", ()) in got
    assert ("heading", "Revoke the old token", "a", ("a-0",)) in got  # its own section is hidden
    assert ("opener", opener.text, "t", ("t-0",)) in got
    assert ("title", "Pager rota", "d", ()) in got
    assert not any(q in ("Deploy freeze policy", "Overview", "Swapping a shift") for _, q, _, _ in got)
    assert len(got) == 4


def test_tune_chooses_a_weight_by_pseudo_query_mrr(engine: QueryEngine):
    queries = pseudo_queries(engine.bm25.all_chunks())
    assert len(queries) >= 40 and {q.origin for q in queries} >= {"title", "heading"}
    tuning = tune(engine.retriever, queries[:60], method="zscore", chunks=len(engine.bm25.all_chunks()))
    assert set(tuning.mrr) == {f"zscore:{w:g}" for w in WEIGHTS}
    assert tuning.chosen.method == "zscore" and tuning.chosen.weight in WEIGHTS
    # the choice is no worse than the two extremes of the grid, and every pseudo-query is answerable
    assert tuning.mrr[tuning.chosen.label] >= min(tuning.mrr["zscore:0.2"], tuning.mrr["zscore:0.8"])
    assert tuning.mrr[tuning.chosen.label] > 0.5


def test_engine_uses_the_stored_choice_unless_pinned(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    assert engine_fusion(settings) == DEFAULT_FUSION and needs_tuning(settings, chunks=100)
    save_tuning(settings, Tuning(chosen=Fusion(method="zscore", weight=0.7), queries=50, chunks=100, rule=TUNE_RULE))
    assert load_tuning(settings) is not None
    assert engine_fusion(settings) == Fusion(method="zscore", weight=0.7)
    assert not needs_tuning(settings, chunks=110) and needs_tuning(settings, chunks=150)
    pinned = settings.model_copy(update={"fusion": "rrf:0.3"})
    assert engine_fusion(pinned) == Fusion(method="rrf", weight=0.3)
    # a choice tuned for another method (an older release tuned RRF weights) is stale: not used, re-tuned
    save_tuning(settings, Tuning(chosen=Fusion(method="rrf", weight=0.2), queries=150, chunks=100))
    assert engine_fusion(settings) == DEFAULT_FUSION and needs_tuning(settings, chunks=100)
    # so is one made by an older choosing rule (a fusion.json without "rule" is rule 1)
    save_tuning(settings, Tuning(chosen=Fusion(method="zscore", weight=0.8), queries=150, chunks=100))
    assert engine_fusion(settings) == DEFAULT_FUSION and needs_tuning(settings, chunks=100)
    (tmp_path / "fusion.json").write_text("{not json")
    assert engine_fusion(settings) == DEFAULT_FUSION  # unreadable: the default, with a warning


def test_choose_prefers_the_even_split_among_weights_the_pseudo_queries_cannot_tell_apart():
    # Flat and noisy, as on the threadset: the edge is "best" by a hair, and within noise of the middle.
    ws = [0.2, 0.5, 0.8]
    flat = [[1.0, 0.5, 0.0, 1.0], [1.0, 0.5, 0.5, 0.5], [1.0, 0.5, 0.5, 1.0]]
    assert choose(ws, flat) == 1
    # A clear winner (better on every query) is kept.
    clear = [[0.0] * 20, [0.5] * 20, [1.0] * 20]
    assert choose(ws, clear) == 2
    assert choose(ws, [[], [], []]) == 1  # no queries: the even split
