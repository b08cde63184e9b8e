"""Microsoft Teams messages as Microsoft Graph exports them (``chatMessage``): ``{"value": [...]}``, a bare
list, or ``{"messages": [...]}``; each ``{"id", "replyToId", "createdDateTime", "from": {"user": {...}},
"body": {"contentType", "content"}}``, channel replies either linked by ``replyToId`` or nested in ``replies``."""

from __future__ import annotations

from pathlib import PurePosixPath

from ingest.context import LoadContext
from ingest.loaders.chat import ChatLog, bot_name, html_text
from ingest.loaders.threads import iso_ts
from rag.types import Message

FORMAT = "teams"


def _items(data: object) -> list[dict]:
    rows = data.get("value", data.get("messages")) if isinstance(data, dict) else data
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def claims(data: object) -> bool:
    """Graph's layout: a body object and createdDateTime on every message."""
    rows = _items(data)
    return bool(rows) and all(isinstance(r.get("body"), dict) and "createdDateTime" in r for r in rows[:20])


def _message(ctx: LoadContext, raw: dict, parent: str | None) -> Message | None:
    if raw.get("messageType", "message") != "message" or raw.get("deletedDateTime"):
        return None  # system events (member added, call ended), deleted messages
    body = raw["body"] if isinstance(raw.get("body"), dict) else {}
    content = str(body.get("content") or "")
    text = html_text(content) if str(body.get("contentType", "")).lower() == "html" else content
    if raw.get("subject"):
        text = f"{raw['subject']}\n{text}"
    sender: dict = raw["from"] if isinstance(raw.get("from"), dict) else {}
    user, app = sender.get("user") or {}, sender.get("application") or {}
    name = str((user or app).get("displayName") or "unknown")
    who = ctx.people.canonical(name)
    return Message(author=bot_name(who) if app and not user else who, text=text.strip(),
                   ts=iso_ts(raw.get("createdDateTime")), id=str(raw.get("id") or "") or None,
                   reply_to=str(raw.get("replyToId") or parent or "") or None)


def read(ctx: LoadContext, rel: str, data: object) -> list[ChatLog]:
    """The channel or chat with every message and reply (HTML bodies as text)."""
    name = data.get("channel") or data.get("displayName") if isinstance(data, dict) else None
    log = ChatLog(channel=str(name or PurePosixPath(rel).stem))
    for raw in _items(data):
        m = _message(ctx, raw, None)
        if m is not None:
            log.messages.append(m)
        for reply in raw.get("replies") or []:
            if isinstance(reply, dict) and (r := _message(ctx, reply, str(raw.get("id") or ""))) is not None:
                log.messages.append(r)
    return [log]
