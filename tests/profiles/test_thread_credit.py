"""Profile credit of a long thread whose later chunks hold no opener (rag.profiles.credit)."""

from __future__ import annotations

from rag.people import PeopleDirectory
from rag.profiles.credit import credits
from rag.threads import annotate
from rag.types import Chunk, Message


def _chunk(index: int, messages: tuple[Message, ...]) -> Chunk:
    return Chunk.model_validate({"chunk_id": f"t-c{index}", "doc_id": "t", "index": index, "kind": "thread",
                                 "title": "VPN drops", "source": "slack/help/2025-01-02.json#1",
                                 "text": "\n".join(f"{m.author}: {m.text}" for m in messages),
                                 "messages": [m.model_dump() for m in messages]})


def test_a_later_chunk_without_the_opener_credits_the_answerer_not_the_asker() -> None:
    msgs = annotate([Message(author="ann", text="why does the vpn drop every hour?"),
                     Message(author="bob", text="ann: the lease is 60 minutes, renew it in the client"),
                     Message(author="ann", text="i set the client to renew at 50 minutes"),
                     Message(author="bob", text="ann: and turn off power saving on the wifi card"),
                     Message(author="ann", text="bob: thanks, that worked")])
    first, later = _chunk(0, msgs[:2]), _chunk(1, msgs[2:])
    assert [m.role for m in later.messages] == ["other", "answer", "ack"]  # no opener in this chunk
    got = credits([first, later], PeopleDirectory())
    by_name: dict[str, float] = {}
    for cr in got:
        by_name[cr.name] = by_name.get(cr.name, 0.0) + cr.weight
    assert set(by_name) == {"bob"} and abs(by_name["bob"] - 1.0) < 1e-9
    assert all(cr.role == "answered" for cr in got)
