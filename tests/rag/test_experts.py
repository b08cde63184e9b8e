"""Expert ranking without an answer (/experts, the gap report's 'who to ask'): off-topic hits earn little."""

from __future__ import annotations

import itertools

from rag.experts import rank_experts
from rag.people import PeopleDirectory
from rag.types import Chunk, Hit


def page(doc: str, title: str, text: str, author: str) -> Hit:
    chunk = Chunk(chunk_id=f"{doc}#0", doc_id=doc, index=0, text=text, title=title, kind="wiki",
                  source=f"wiki/{doc}.md", authors=(author,), doc_authors=(author,))
    return Hit(chunk=chunk, score=0.5)


ON_TOPIC = page("marmalade", "Operation Quantum Marmalade",
                "The quantum marmalade protocol rotates the vault credentials every ninth Tuesday.", "Zebulon Q")
OFF_TOPIC = [page("deploy", "Deploying services", "Deploys go out from the main branch after review.", "Pat P"),
             page("freeze", "Deploy freeze", "The deploy freeze starts on Friday.", "Pat P"),
             page("oncall", "On-call handbook", "The primary acknowledges a page within fifteen minutes.", "Ann L")]


def test_the_only_author_on_the_topic_leads_whatever_order_the_unrelated_hits_come_in() -> None:
    # Retrieval always fills k: before, Pat's two unrelated pages at ranks 2 and 3 (1/2**0.75 + 1/3**0.75 > 1)
    # outscored Zebulon's one page on the topic, and the order of unrelated hits followed how ids hashed.
    for rest in itertools.permutations(OFF_TOPIC):
        experts = rank_experts("quantum marmalade rotation", [ON_TOPIC, *rest], quotes=[],
                               people=PeopleDirectory(), idf=lambda t: 1.0)
        assert experts[0].name == "Zebulon Q", [(e.name, e.score) for e in experts]
        assert experts[0].score > 2 * max(e.score for e in experts[1:]), [(e.name, e.score) for e in experts]


def test_two_pages_on_the_topic_outweigh_one() -> None:
    second = page("marmalade-2", "Marmalade rotation runbook", "Run the quantum marmalade rotation from the "
                  "jump host.", "Pat P")
    third = page("marmalade-3", "Marmalade audit", "The quantum marmalade rotation is audited yearly.", "Pat P")
    experts = rank_experts("quantum marmalade rotation", [ON_TOPIC, second, third], quotes=[],
                           people=PeopleDirectory(), idf=lambda t: 1.0)
    assert [e.name for e in experts] == ["Pat P", "Zebulon Q"]
