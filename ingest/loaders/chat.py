"""Chat exports (Discord, Telegram, Messenger, Teams, Rocket.Chat, Mattermost, WhatsApp) as thread documents.

Each format has its own module that turns the export into :class:`ChatLog` s (a channel's messages with
their ids and reply links). Here a log becomes documents the way a Slack channel does: a message with
replies and all its replies form one thread; the other messages are grouped by day. JSON files are
recognised by their content, not their name; a JSON file no chat format claims is generic thread JSON.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.context import Failure, LoadContext, LoadResult, decode_text
from ingest.loaders.threads import load_thread_json, thread_document
from rag.errors import ParseError
from rag.types import Message

_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(p|div|br|li|tr|h[1-6])\b[^>]*>", re.IGNORECASE)


@dataclass
class ChatLog:
    """One channel or chat of an export: messages in time order, with the format's ids and reply links."""

    channel: str
    messages: list[Message] = field(default_factory=list)
    key: str = ""  # distinguishes several chats in one file (part of the document source)
    access: tuple[str, ...] = ()  # the audience the source implies (a private channel's group)


def bot_name(name: str) -> str:
    """How a bot account is credited: kept as a message, marked so it never makes an expert."""
    return name if name.casefold().endswith("[bot]") else f"{name} [bot]"


def html_text(value: str) -> str:
    """HTML message bodies (Teams, some exports) as plain text."""
    text = _BLOCK.sub("\n", value)
    text = html.unescape(_TAG.sub("", text))
    return re.sub(r"[ \t]+", " ", re.sub(r"\n\s*\n+", "\n", text)).strip()


def _root(mid: str, parent: dict[str, str]) -> str:
    seen = {mid}
    while mid in parent and parent[mid] not in seen:
        mid = parent[mid]
        seen.add(mid)
    return mid


def documents(ctx: LoadContext, *, rel: str, logs: Sequence[ChatLog], fmt: str) -> LoadResult:
    """Thread documents of every log: reply threads whole, the other messages one document per day."""
    result = LoadResult()
    for log in logs:
        msgs = sorted((m for m in log.messages if m.text.strip()), key=lambda m: m.ts or "")
        ids = {m.id for m in msgs if m.id}
        parent = {m.id: m.reply_to for m in msgs if m.id and m.reply_to in ids and m.reply_to != m.id}
        parents = set(parent.values())
        groups: dict[str, list[Message]] = {}
        for m in msgs:
            root = _root(m.id, parent) if m.id else None
            threaded = root is not None and (m.id in parent or m.id in parents)
            key = f"t:{root}" if threaded else f"d:{(m.ts or '')[:10] or 'undated'}"
            groups.setdefault(key, []).append(m)
        base = f"{rel}#{log.key}/" if log.key else f"{rel}#"
        for key, items in groups.items():
            kind, _, what = key.partition(":")
            source = base + what
            title = _title(items[0].text) if kind == "t" else f"{log.channel} on {what}"
            try:
                result.documents.append(thread_document(ctx, source=source, title=title, channel=log.channel,
                                                        messages=items, fmt=fmt, source_access=log.access))
            except ParseError as exc:
                result.failures.append(Failure(source, str(exc)))
    if not result.documents and not result.failures:
        raise ParseError(f"{rel}: a {fmt} export with no messages that have text")
    return result


def _title(text: str) -> str:
    first = re.split(r"(?<=[.?!])\s|\n", text.strip(), maxsplit=1)[0]
    return first[:100] + ("..." if len(first) > 100 else "")


def read_json(ctx: LoadContext, file: Path) -> object:
    """A JSON file's value, or ParseError naming the line and column."""
    rel = ctx.rel(file)
    try:
        return json.loads(decode_text(file.read_bytes(), rel))
    except json.JSONDecodeError as exc:
        raise ParseError(f"{rel}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc


Reader = Callable[[LoadContext, str, object], list[ChatLog]]


def _formats() -> list[tuple[str, Callable[[object], bool], Reader]]:
    from ingest.loaders import discord, messenger, rocketchat, teams, telegram

    return [(m.FORMAT, m.claims, m.read) for m in (discord, telegram, messenger, teams, rocketchat)]


def load_json(ctx: LoadContext, file: Path) -> LoadResult:
    """A JSON file: the chat export format that recognises its content, else generic thread JSON."""
    rel = ctx.rel(file)
    data = read_json(ctx, file)
    for fmt, claims, read in _formats():
        if claims(data):
            return documents(ctx, rel=rel, logs=read(ctx, rel, data), fmt=fmt)
    return LoadResult(documents=[load_thread_json(ctx, file)])
