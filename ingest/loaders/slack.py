"""Slack workspace exports: users.json, channels.json, groups.json and <channel>/<date>.json day files.

Replies (``thread_ts`` != ``ts``) join their parent's thread even when they sit in a later day
file; user ids are resolved to names through users.json (or each message's ``user_profile``).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ingest.context import Failure, LoadContext, LoadResult, decode_text
from ingest.loaders.chat import bot_name
from ingest.loaders.threads import iso_ts, thread_document
from rag.access import slack_group
from rag.errors import ParseError
from rag.types import Message

# Bot posts are kept (credited to the bot as "NAME [bot]", never an expert); membership noise is not.
_SKIP_SUBTYPES = {"channel_join", "channel_leave", "channel_topic", "channel_purpose",
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


def _obj(value: object) -> dict:
    """``value`` when it is a JSON object, else an empty one: a malformed field reads as an absent one."""
    return value if isinstance(value, dict) else {}


class _Resolver:
    def __init__(self, ctx: LoadContext, users: list) -> None:
        self.ctx = ctx
        self.names: dict[str, str] = {}
        for u in users:
            if not isinstance(u, dict) or not isinstance(u.get("id"), str):
                continue  # a malformed entry is one unknown user, not a failed export
            prof = _obj(u.get("profile"))
            raw = prof.get("real_name") or u.get("real_name") or prof.get("email") or u.get("name") or u["id"]
            if isinstance(prof.get("email"), str) and prof["email"]:
                hit = ctx.people.canonical(prof["email"])
                raw = hit if hit != prof["email"] else raw
            self.names[u["id"]] = ctx.people.canonical(str(raw))
            if u.get("is_bot") or u["id"] == "USLACKBOT":
                self.names[u["id"]] = bot_name(self.names[u["id"]])

    def name(self, msg: dict) -> str:
        if msg.get("subtype") == "bot_message" or (msg.get("bot_id") and not msg.get("user")):
            bot: dict = msg["bot_profile"] if isinstance(msg.get("bot_profile"), dict) else {}
            return bot_name(str(msg.get("username") or bot.get("name") or msg.get("bot_id") or "bot"))
        comment: dict = msg["comment"] if isinstance(msg.get("comment"), dict) else {}
        uid = msg.get("user") or comment.get("user") or ""  # a file comment is its commenter's
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


PRIVATE_META = ("groups.json", "mpims.json", "dms.json")  # private channels, group DMs, DMs


@dataclass
class _Meta:
    """What an export's metadata files say: its users, which channels are public, which are private."""

    users: list = field(default_factory=list)
    public: set[str] = field(default_factory=set)
    private: set[str] = field(default_factory=set)
    unreadable: list[str] = field(default_factory=list)  # channel lists that are missing or broken


def _read_meta(ctx: LoadContext, folder: Path, result: LoadResult) -> _Meta:
    meta = _Meta()
    for name in ("users.json", "channels.json", *PRIVATE_META):
        path = folder / name
        if not path.exists():
            if name == "users.json":
                result.failures.append(Failure(ctx.display(folder) + "/users.json",
                                               "missing: user ids resolved from message profiles only"))
            elif name == "channels.json":
                meta.unreadable.append(name)
            continue
        try:
            data = _read_json(ctx, path)
            if not isinstance(data, list):
                raise ParseError(f"{ctx.display(path)}: expected a JSON list, not a {type(data).__name__}")
        except (ParseError, OSError) as exc:
            why = " - channel folders it does not list are stored readable by nobody" if name != "users.json" else ""
            result.failures.append(Failure(ctx.display(path), f"{exc}{why}"))
            meta.unreadable += [name] if name != "users.json" else []
            continue
        if name == "users.json":
            meta.users = data
            continue
        # DMs are folders named by their id (dms.json entries have no name).
        names = {str(ch.get("name") or ch.get("id")) for ch in data if isinstance(ch, dict)
                 and (ch.get("name") or ch.get("id"))}
        (meta.public if name == "channels.json" else meta.private).update(names)
    return meta


def channel_access(ctx: LoadContext, chan_dir: Path, meta: _Meta, result: LoadResult) -> list[str]:
    """The audience a channel folder implies: none (public) only when channels.json lists it.

    Anything else - listed as private, or listed nowhere - is the private channel's group, whose members
    come from the same metadata: a folder no readable file vouches for is readable by nobody."""
    name = chan_dir.name
    if name in meta.public and name not in meta.private:
        return []
    if name not in meta.private:
        rel = ctx.display(chan_dir)
        why = (f"missing or unreadable {', '.join(meta.unreadable)}" if meta.unreadable else
               f"listed in none of channels.json, {', '.join(PRIVATE_META)}")
        result.failures.append(Failure(rel, f"{rel}: channel folder {why} - stored as private channel "
                                       f"{slack_group(name)} with no known member, readable by nobody"))
    return [slack_group(name)]


def load_slack_export(ctx: LoadContext, folder: Path) -> LoadResult:
    """Every thread (and each day's loose messages) of every channel in the export."""
    result = LoadResult()
    meta = _read_meta(ctx, folder, result)
    resolver = _Resolver(ctx, meta.users)
    for chan_dir in sorted(p for p in folder.iterdir() if p.is_dir() and p not in ctx.refused):
        access = channel_access(ctx, chan_dir, meta, result)
        _load_channel(ctx, chan_dir, resolver, access, result)
    return result


def _slack_ts(value: object) -> bool:
    """Whether ``value`` is a Slack timestamp ('1709287200.000100', or a number)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def message_problem(msg: object) -> str | None:
    """Why a day file entry cannot be read as a message (None when it can): checked before any use."""
    if not isinstance(msg, dict):
        return f"expected an object, not {type(msg).__name__}"
    for key in ("text", "user", "subtype", "username"):
        if msg.get(key) is not None and not isinstance(msg[key], str):
            return f"'{key}' must be a string"
    if msg.get("user_profile") is not None and not isinstance(msg["user_profile"], dict):
        return "'user_profile' must be an object"
    if not msg.get("text") or msg.get("subtype") in _SKIP_SUBTYPES:
        return None  # not kept anyway
    for key in ("ts", "thread_ts"):  # absent is fine (sorted first); present must be a timestamp
        if msg.get(key) not in (None, "") and not _slack_ts(msg[key]):
            return f"'{key}' {str(msg[key])[:40]!r} is not a Slack timestamp"
    return None


def _load_channel(ctx: LoadContext, chan_dir: Path, resolver: _Resolver, access: list[str],
                  result: LoadResult) -> None:
    threads: dict[str, list[tuple[str, dict]]] = defaultdict(list)  # thread_ts -> [(day file rel, msg)]
    loose: dict[str, list[dict]] = defaultdict(list)  # day file rel -> messages without a thread
    for day in sorted(f for f in chan_dir.iterdir() if f.suffix == ".json" and f not in ctx.refused and f.is_file()):
        try:
            rel = ctx.rel(day)
            data = _read_json(ctx, day)
            if not isinstance(data, list):
                raise ParseError(f"{rel}: expected a JSON list of messages")
        except (ParseError, OSError) as exc:
            result.failures.append(Failure(ctx.display(day), str(exc)))
            continue
        for i, msg in enumerate(data):
            bad = message_problem(msg)
            if bad:  # one malformed message is reported and skipped; the rest of the export lands
                result.failures.append(Failure(f"{rel}#{i}", f"{rel}: message {i}: {bad} - skipped"))
                continue
            if msg.get("subtype") in _SKIP_SUBTYPES or not msg.get("text"):
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
        # A reply in a Slack thread replies to the thread's parent (Slack has no deeper nesting).
        msgs = [Message(author=resolver.name(m), text=resolver.clean(m["text"]), ts=iso_ts(m.get("ts")),
                        id=str(m.get("ts") or "") or None,
                        reply_to=tts if str(m.get("ts")) != tts else None)
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
                                                    channel=channel, messages=msgs, fmt="slack", source_access=access,
                                                    conversation=False))
        except ParseError as exc:
            result.failures.append(Failure(rel, str(exc)))


def _title(text: str) -> str:
    first = re.split(r"(?<=[.?!])\s|\n", text.strip(), maxsplit=1)[0]
    return first[:100] + ("..." if len(first) > 100 else "")
