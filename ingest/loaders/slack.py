"""Slack workspace exports: users.json, channels.json, groups.json and <channel>/<date>.json day files.

Replies (``thread_ts`` != ``ts``) join their parent's thread even when they sit in a later day
file; user ids are resolved to names through users.json (or each message's ``user_profile``).
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from pathlib import Path

from ingest.context import Failure, LoadContext, LoadResult, decode_text
from ingest.loaders.threads import iso_ts, thread_document
from rag.access import slack_group
from rag.errors import ParseError
from rag.types import Message

_SKIP_SUBTYPES = {"channel_join", "channel_leave", "bot_message", "channel_topic", "channel_purpose",
                  "channel_name", "group_join", "group_leave", "pinned_item", "tombstone"}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")


def is_slack_export(folder: Path) -> bool:
    """A folder is an export root when it holds channels.json or users.json next to day-file folders."""
    if not ((folder / "channels.json").exists() or (folder / "users.json").exists()):
        return False
    return any(p.is_dir() and any(_DAY.match(f.name) for f in p.iterdir()) for p in folder.iterdir())


def _read_json(ctx: LoadContext, path: Path) -> object:
    rel = ctx.rel(path)
    try:
        return json.loads(decode_text(path.read_bytes(), rel))
    except json.JSONDecodeError as exc:
        raise ParseError(f"{rel}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc


class _Resolver:
    def __init__(self, ctx: LoadContext, users: list) -> None:
        self.ctx = ctx
        self.names: dict[str, str] = {}
        for u in users:
            if not isinstance(u, dict) or "id" not in u:
                continue
            prof = u.get("profile") or {}
            raw = prof.get("real_name") or u.get("real_name") or prof.get("email") or u.get("name") or u["id"]
            if prof.get("email"):
                hit = ctx.people.canonical(prof["email"])
                raw = hit if hit != prof["email"] else raw
            self.names[u["id"]] = ctx.people.canonical(str(raw))

    def name(self, msg: dict) -> str:
        uid = msg.get("user") or ""
        if uid in self.names:
            return self.names[uid]
        prof = msg.get("user_profile") or {}
        raw = prof.get("real_name") or prof.get("display_name") or msg.get("username") or uid or "unknown"
        return self.ctx.people.canonical(str(raw))

    def clean(self, text: str) -> str:
        text = re.sub(r"<@(U[A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "@" + self.names.get(m.group(1), m.group(1)), text)
        text = re.sub(r"<#C[A-Z0-9]+\|([^>]+)>", r"#\1", text)
        text = re.sub(r"<!(here|channel|everyone)[^>]*>", r"@\1", text)
        text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
        text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
        text = re.sub(r"<mailto:[^|>]+\|([^>]+)>", r"\1", text)
        return html.unescape(text)


def load_slack_export(ctx: LoadContext, folder: Path) -> LoadResult:
    """Every thread (and each day's loose messages) of every channel in the export."""
    result = LoadResult()
    users: list = []
    channel_meta: dict[str, dict] = {}
    for name in ("users.json", "channels.json", "groups.json", "mpims.json"):
        path = folder / name
        if not path.exists():
            if name == "users.json":
                result.failures.append(Failure(ctx.rel(folder) + "/users.json",
                                               "missing: user ids resolved from message profiles only"))
            continue
        try:
            data = _read_json(ctx, path)
        except ParseError as exc:
            result.failures.append(Failure(ctx.rel(path), str(exc)))
            continue
        if not isinstance(data, list):
            result.failures.append(Failure(ctx.rel(path), "expected a JSON list"))
            continue
        if name == "users.json":
            users = data
        else:
            for ch in data:
                if isinstance(ch, dict) and ch.get("name"):
                    channel_meta[ch["name"]] = {**ch, "private": name != "channels.json"}
    resolver = _Resolver(ctx, users)
    for chan_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        meta = channel_meta.get(chan_dir.name, {})
        access = [slack_group(chan_dir.name)] if meta.get("private") else []
        _load_channel(ctx, chan_dir, resolver, access, result)
    return result


def _load_channel(ctx: LoadContext, chan_dir: Path, resolver: _Resolver, access: list[str],
                  result: LoadResult) -> None:
    threads: dict[str, list[tuple[str, dict]]] = defaultdict(list)  # thread_ts -> [(day file rel, msg)]
    loose: dict[str, list[dict]] = defaultdict(list)  # day file rel -> messages without a thread
    for day in sorted(f for f in chan_dir.iterdir() if f.is_file() and f.suffix == ".json"):
        rel = ctx.rel(day)
        try:
            data = _read_json(ctx, day)
            if not isinstance(data, list):
                raise ParseError(f"{rel}: expected a JSON list of messages")
        except (ParseError, OSError) as exc:
            result.failures.append(Failure(rel, str(exc)))
            continue
        for msg in data:
            if not isinstance(msg, dict) or msg.get("subtype") in _SKIP_SUBTYPES or not msg.get("text"):
                continue
            tts = msg.get("thread_ts")
            if tts:
                threads[str(tts)].append((rel, msg))
            else:
                loose[rel].append(msg)
    channel = chan_dir.name
    for tts, items in threads.items():
        items.sort(key=lambda it: float(it[1].get("ts") or 0))
        parent = next((it for it in items if str(it[1].get("ts")) == tts), items[0])
        source = f"{parent[0]}#{tts}"
        msgs = [Message(author=resolver.name(m), text=resolver.clean(m["text"]), ts=iso_ts(m.get("ts")))
                for _, m in items]
        title = _title(msgs[0].text)
        try:
            result.documents.append(thread_document(ctx, source=source, title=title, channel=channel,
                                                    messages=msgs, fmt="slack", source_access=access))
        except ParseError as exc:
            result.failures.append(Failure(source, str(exc)))
    for rel, raw in loose.items():
        msgs = [Message(author=resolver.name(m), text=resolver.clean(m["text"]), ts=iso_ts(m.get("ts")))
                for m in sorted(raw, key=lambda m: float(m.get("ts") or 0))]
        day_name = Path(rel).stem
        try:
            result.documents.append(thread_document(ctx, source=rel, title=f"#{channel} on {day_name}",
                                                    channel=channel, messages=msgs, fmt="slack", source_access=access))
        except ParseError as exc:
            result.failures.append(Failure(rel, str(exc)))


def _title(text: str) -> str:
    first = re.split(r"(?<=[.?!])\s|\n", text.strip(), maxsplit=1)[0]
    return first[:100] + ("..." if len(first) > 100 else "")
