"""Telegram Desktop "Export chat history" JSON (``result.json``): one chat, or a whole account's
``{"chats": {"list": [...]}}``. Text may be a string or a list of plain and formatted pieces."""

from __future__ import annotations

from ingest.context import LoadContext
from ingest.loaders.chat import ChatLog
from ingest.loaders.threads import iso_ts
from rag.types import Message

FORMAT = "telegram"


def _chats(data: object) -> list[dict]:
    if not isinstance(data, dict):
        return []
    chats = data.get("chats")
    if isinstance(chats, dict) and isinstance(chats.get("list"), list):
        return [c for c in chats["list"] if isinstance(c, dict)]
    return [data] if isinstance(data.get("messages"), list) else []


def _is_chat(chat: dict) -> bool:
    msgs = [m for m in chat.get("messages", []) if isinstance(m, dict)]
    return bool(msgs) and all(m.get("type") in ("message", "service") and "date" in m for m in msgs[:20])


def claims(data: object) -> bool:
    """Telegram's layout: messages typed 'message'/'service' with 'date' (and 'from' or 'actor')."""
    chats = _chats(data)
    return bool(chats) and any(_is_chat(c) for c in chats)


def _text(value: object) -> str:
    if isinstance(value, list):  # ["plain ", {"type": "bold", "text": "bold"}, ...]
        return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in value if isinstance(p, str | dict))
    return str(value or "")


def read(ctx: LoadContext, rel: str, data: object) -> list[ChatLog]:
    """Each chat with its messages' senders, times and ``reply_to_message_id`` links."""
    logs = []
    chats = _chats(data)
    for chat in chats:
        name = str(chat.get("name") or chat.get("id") or "Telegram chat")
        log = ChatLog(channel=name, key=str(chat.get("id") or name) if len(chats) > 1 else "")
        for raw in chat.get("messages", []):
            if not isinstance(raw, dict) or raw.get("type") != "message":
                continue
            ts = iso_ts(raw.get("date_unixtime")) if raw.get("date_unixtime") else iso_ts(raw.get("date"))
            reply = raw.get("reply_to_message_id")
            log.messages.append(Message(author=ctx.people.canonical(str(raw.get("from") or "unknown")),
                                        text=_text(raw.get("text")).strip(), ts=ts,
                                        id=str(raw["id"]) if raw.get("id") is not None else None,
                                        reply_to=str(reply) if reply else None))
        logs.append(log)
    return logs
