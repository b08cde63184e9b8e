"""Rocket.Chat room history (REST ``channels.history`` / ``im.history`` or a ``rocketchat_message`` dump):
``{"messages": [{"_id", "rid", "msg", "ts", "u": {"username", "name"}, "tmid"?}]}`` or a bare list.
Thread replies carry ``tmid`` (their thread's first message); system messages (``t``) are left out."""

from __future__ import annotations

from ingest.context import LoadContext
from ingest.loaders.chat import ChatLog, bot_name
from ingest.loaders.threads import iso_ts
from rag.types import Message

FORMAT = "rocketchat"


def _items(data: object) -> list[dict]:
    rows = data.get("messages") if isinstance(data, dict) else data
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def claims(data: object) -> bool:
    """Rocket.Chat's layout: 'msg' text and a 'u' user object on every message."""
    rows = _items(data)
    return bool(rows) and all("msg" in r and isinstance(r.get("u"), dict) for r in rows[:20])


def _ts(value: object) -> str | None:
    if isinstance(value, dict):  # MongoDB extended JSON: {"$date": 1588327200000} or {"$date": "2020-..."}
        value = value.get("$date")
        if isinstance(value, dict):
            value = value.get("$numberLong")
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return iso_ts(float(value) / 1000)
    return iso_ts(value)


def read(ctx: LoadContext, rel: str, data: object) -> list[ChatLog]:
    """Each room in the file, messages with author (full name first), time and thread link."""
    logs: dict[str, ChatLog] = {}
    room = data.get("channel") or data.get("room") if isinstance(data, dict) else None
    for raw in _items(data):
        if raw.get("t"):  # uj (joined), ul (left), room renamed...
            continue
        user = raw["u"]
        who = ctx.people.canonical(str(user.get("name") or user.get("username") or "unknown"))
        rid = str(room or raw.get("rid") or "room")
        log = logs.setdefault(rid, ChatLog(channel=rid, key=rid if not room else ""))
        log.messages.append(Message(author=bot_name(who) if raw.get("bot") else who, text=str(raw.get("msg") or ""),
                                    ts=_ts(raw.get("ts")), id=str(raw.get("_id") or "") or None,
                                    reply_to=str(raw.get("tmid") or "") or None))
    if len(logs) == 1:
        only = next(iter(logs.values()))
        only.key = ""
    return list(logs.values())
