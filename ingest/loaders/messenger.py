"""Facebook / Instagram Messenger "Download your information" JSON (``message_1.json``).

Messages come newest first and text is UTF-8 mis-decoded as Latin-1 (``\\u00c3\\u00a9`` for ``é``): both are
put right. There are no reply links; the thread structure is inferred downstream."""

from __future__ import annotations

from ingest.context import LoadContext
from ingest.loaders.chat import ChatLog
from ingest.loaders.threads import iso_ts
from rag.types import Message

FORMAT = "messenger"


def claims(data: object) -> bool:
    """Messenger's layout: participants and messages with sender_name and timestamp_ms."""
    if not (isinstance(data, dict) and isinstance(data.get("participants"), list)
            and isinstance(data.get("messages"), list)):
        return False
    msgs = [m for m in data["messages"] if isinstance(m, dict)]
    return bool(msgs) and all("sender_name" in m and "timestamp_ms" in m for m in msgs[:20])


def fix_mojibake(text: str) -> str:
    """Facebook writes each UTF-8 byte as one character; decode them back when that is what they are."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def read(ctx: LoadContext, rel: str, data: object) -> list[ChatLog]:
    """The conversation oldest first, each message with its sender and time."""
    assert isinstance(data, dict)
    log = ChatLog(channel=fix_mojibake(str(data.get("title") or rel)))
    rows = [m for m in data["messages"] if isinstance(m, dict) and m.get("content")]
    for raw in sorted(rows, key=lambda m: m.get("timestamp_ms") or 0):
        ts = iso_ts(float(raw["timestamp_ms"]) / 1000) if isinstance(raw.get("timestamp_ms"), int | float) else None
        log.messages.append(Message(author=ctx.people.canonical(fix_mojibake(str(raw["sender_name"]))),
                                    text=fix_mojibake(str(raw["content"])), ts=ts))
    return [log]
