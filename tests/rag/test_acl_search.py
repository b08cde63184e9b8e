"""The access check runs inside both searches: a restricted chunk never takes a result slot."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import ingest
from rag.config import Settings
from rag.engine import QueryEngine
from rag.errors import NotFound
from rag.types import Filters
from tests.ingest.helpers import write

SECRET = "Saffron lighthouse escrow keys are kept in the blue cabinet."


@pytest.fixture
def acl_engine(corpus: Path, settings: Settings) -> QueryEngine:
    write(corpus, "wiki/vault.md", f"---\ntitle: Escrow keys\nauthors: [Vera Secret]\naccess: [vault]\n---\n{SECRET}\n")
    write(corpus, "wiki/lunch.md", "---\ntitle: Lunch\nauthors: [Pat Public]\n---\nLunch is served at noon in the "
                                   "canteen on the ground floor.\n")
    write(corpus, "wiki/keys.md", "---\ntitle: Office keys\nauthors: [Pat Public]\naccess: [facilities]\n---\n"
                                  "Office keys are handed out by reception.\n")
    assert ingest(corpus, settings).failed == []
    return QueryEngine(settings)


def test_dense_search_fills_k_from_readable_chunks_only(acl_engine: QueryEngine) -> None:
    vector = acl_engine.embedder.embed_query(SECRET)
    top = acl_engine.store.search(vector, k=1)
    assert top[0][0].title == "Escrow keys"  # unfiltered, the secret is nearest
    (hit,) = acl_engine.store.search(vector, k=1, filters=Filters(groups=("staff",)))
    assert hit[0].access == ("public",)  # filtered inside: k=1 still yields one readable chunk
    got = acl_engine.store.search(vector, k=10, filters=Filters(groups=("facilities",)))
    assert {c.title for c, _ in got} == {"Lunch", "Office keys"}


def test_bm25_scores_only_allowed_chunks(acl_engine: QueryEngine) -> None:
    assert [c.title for c, _ in acl_engine.bm25.search("saffron lighthouse escrow", k=1)] == ["Escrow keys"]
    assert acl_engine.bm25.search("saffron lighthouse escrow", k=1, filters=Filters(groups=("staff",))) == []
    assert [c.title for c, _ in acl_engine.bm25.search("keys", k=5, filters=Filters(groups=("vault",)))] == \
        ["Escrow keys"]


def test_answers_experts_documents_and_channels_respect_groups(acl_engine: QueryEngine) -> None:
    outside = Filters(groups=("staff",))
    answer = acl_engine.ask("Where are the saffron lighthouse escrow keys kept?", filters=outside)
    text = answer.model_dump_json()
    assert "blue cabinet" not in text and "Vera Secret" not in text and "Escrow keys" not in text
    experts = acl_engine.experts("saffron lighthouse escrow keys", filters=outside)
    assert "Vera Secret" not in {e.name for e in experts}
    inside = acl_engine.ask("Where are the saffron lighthouse escrow keys kept?", filters=Filters(groups=("vault",)))
    assert "blue cabinet" in inside.answer and inside.citations[0].title == "Escrow keys"
    assert "Vera Secret" in {e.name for e in acl_engine.experts("saffron lighthouse escrow", filters=Filters(
        groups=("vault",)))}
    doc_id = inside.citations[0].doc_id
    assert acl_engine.document(doc_id, groups=("vault",)).title == "Escrow keys"
    with pytest.raises(NotFound):
        acl_engine.document(doc_id, groups=("staff",))


def test_cli_ask_as_a_user_reads_only_what_their_groups_may(acl_engine: QueryEngine, settings: Settings,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from api.auth import add_user
    from api.cli import app as cli

    monkeypatch.setenv("WHOKNOWS_EMBEDDER", "hashing")
    add_user(settings.users_path, name="Olive Outsider", groups=["staff"])
    add_user(settings.users_path, name="Vic Vault", groups=["vault"])
    runner = CliRunner()
    question = "Where are the saffron lighthouse escrow keys kept?"

    def ask(*extra: str) -> dict:
        r = runner.invoke(cli, ["ask", question, "--json", "--data-dir", str(settings.data_dir), *extra])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    assert "blue cabinet" in ask()["answer"], "the local operator reads everything"
    outsider = ask("--as", "Olive Outsider")
    assert "blue cabinet" not in json.dumps(outsider) and "Escrow keys" not in json.dumps(outsider)
    assert "blue cabinet" in ask("--as", "Vic Vault")["answer"]
    unknown = runner.invoke(cli, ["ask", question, "--as", "Nobody", "--json", "--data-dir", str(settings.data_dir)])
    assert unknown.exit_code == 1 and "no user named 'Nobody'" in unknown.output
