"""Generic thread JSON: one conversation per file, tolerant of the usual field spellings."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ingest.context import LoadContext, decode_text
from rag.errors import ParseError
from rag.threads import annotate, is_bot
from rag.types import Document, Message, stable_hash

_AUTHOR_KEYS = ("author", "user", "sender", "from", "name", "username")
_TEXT_KEYS = ("text", "body", "content", "message")
_TS_KEYS = ("ts", "time", "date", "timestamp", "created_at")
# A message's own id, and the id of the message it replies to (the spellings chat exports and
# mail-to-JSON converters use).
_ID_KEYS = ("id", "message_id", "messageId", "msg_id", "uuid", "ts")
_REPLY_KEYS = ("reply_to", "in_reply_to", "replyTo", "inReplyTo", "reply_to_id", "reply_to_message_id",
               "replyToId", "parent", "parent_id", "parentId", "parent_message_id")


def iso_ts(value: object) -> str | None:
    """A timestamp (epoch seconds, Slack '123.456', ISO string) as ISO-8601 UTC, else None."""
    if value is None or value == "":
        return None
    try:
        f = float(value)  # type: ignore[arg-type]
        return dt.datetime.fromtimestamp(f, tz=dt.UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        pass
    s = str(value).strip()
    try:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).isoformat(timespec="seconds")
    except ValueError:
        return s or None


def rank_senders(messages: Sequence[Message]) -> tuple[str, ...]:
    """Thread authors by number of messages, ties by first appearance (the devset's convention)."""
    counts = Counter(m.author for m in messages)
    first = {a: i for i, a in reversed(list(enumerate(m.author for m in messages)))}
    return tuple(sorted(counts, key=lambda a: (-counts[a], first[a])))


def thread_document(ctx: LoadContext, *, source: str, title: str, channel: str | None,
                    messages: Sequence[Message], fmt: str, access: object = None,
                    source_access: Sequence[str] = (), url: str | None = None,
                    conversation: bool = True) -> Document:
    """A thread as one document whose messages keep their own authors and their reply structure.

    ``access`` is what the file itself declares; ``source_access`` the audience the source implies
    (private channel, mail recipients) - see ``ingest.access`` for which wins. ``conversation=False``
    is for a bundle of unrelated messages (a Slack day's loose posts): no asker, no roles."""
    messages = [m for m in messages if m.text.strip()]
    if not messages:
        raise ParseError(f"{source}: thread has no messages with text")
    if conversation:
        messages = list(annotate(messages, bots=ctx.bots))
    else:  # no roles in a bundle, but a bot's post is still the bot's: never an expert, never a document author
        messages = [m.model_copy(update={"role": "bot"}) if is_bot(m.author, ctx.bots) else m for m in messages]
    people = [m for m in messages if m.role != "bot"]
    side = ctx.sidecar.get(source.split("#")[0], {})
    return Document(
        doc_id=stable_hash(source),
        source=source,
        paths=(source,),
        title=title.strip() or f"Thread in {channel or source}",
        kind="thread",
        format=fmt,
        url=url or side.get("source_url"),
        authors=rank_senders(people),
        date=(messages[0].ts or "")[:10] or side.get("date"),
        channel=channel,
        access=ctx.access_for(source, declared=access, from_source=source_access),
        messages=tuple(messages),
    )


def _pick(obj: dict, keys: Sequence[str]) -> object:
    for k in keys:
        if k in obj and obj[k] not in (None, ""):
            return obj[k]
    return None


def _author(value: object) -> str:
    if isinstance(value, dict):  # {"name": ..., "email": ...}
        value = value.get("name") or value.get("real_name") or value.get("email") or ""
    return str(value or "").strip()


def load_thread_json(ctx: LoadContext, file: Path) -> Document:
    """``{"title"?, "channel"?, "messages": [{"author", "text", "ts", "id"?, "reply_to"?}]}`` (or a bare list).

    Field spellings: author ``author|user|sender|from|name|username``; text ``text|body|content|message``;
    time ``ts|time|date|timestamp|created_at``; own id ``id|message_id|messageId|msg_id|uuid|ts``; parent
    ``reply_to|in_reply_to|replyTo|inReplyTo|reply_to_id|reply_to_message_id|replyToId|parent|parent_id|
    parentId|parent_message_id`` (a value or ``{"id": ...}``). Without links, replies are inferred
    (``rag.threads.structure``)."""
    rel = ctx.rel(file)
    try:
        data = json.loads(decode_text(file.read_bytes(), rel))
    except json.JSONDecodeError as exc:
        raise ParseError(f"{rel}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    if isinstance(data, list):
        data = {"messages": data}
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ParseError(f"{rel}: not a thread - expected an object with a 'messages' list")
    messages = []
    for i, raw in enumerate(data["messages"]):
        if not isinstance(raw, dict):
            raise ParseError(f"{rel}: messages[{i}] is not an object")
        text = _pick(raw, _TEXT_KEYS)
        author = _author(_pick(raw, _AUTHOR_KEYS))
        if text is None:
            continue
        mid, parent = _pick(raw, _ID_KEYS), _pick(raw, _REPLY_KEYS)
        if isinstance(parent, dict):  # {"id": ...} / {"messageId": ...}
            parent = _pick(parent, ("id", "message_id", "messageId"))
        messages.append(Message(author=ctx.people.canonical(author) or "unknown", text=str(text),
                                ts=iso_ts(_pick(raw, _TS_KEYS)),
                                id=str(mid) if mid is not None else None,
                                reply_to=str(parent) if parent is not None else None))
    return thread_document(ctx, source=rel, title=str(data.get("title") or data.get("subject") or ""),
                           channel=data.get("channel"), messages=messages, fmt="thread-json",
                           access=data.get("access"), url=data.get("url"))
