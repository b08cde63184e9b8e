"""Mattermost bulk export (``mmctl export``): JSON Lines of ``{"type": "user" | "channel" | "post" |
"direct_post" | ..., ...}``. A post's ``replies`` are its thread; API dumps with ``id``/``root_id`` work too.

A private channel (``type: "P"``) is readable only by the group ``mattermost:TEAM/CHANNEL``; a direct
message only by its members' e-mail addresses (as an e-mail thread is)."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.context import LoadContext, LoadResult, decode_text
from ingest.loaders.chat import ChatLog, documents
from ingest.loaders.threads import iso_ts
from rag.access import email_group
from rag.errors import ParseError
from rag.types import Message

FORMAT = "mattermost"
_KINDS = {"version", "team", "channel", "user", "post", "direct_channel", "direct_post", "emoji", "scheme"}


def _lines(ctx: LoadContext, file: Path) -> list[tuple[int, dict]]:
    rel = ctx.rel(file)
    rows = []
    for n, line in enumerate(decode_text(file.read_bytes(), rel).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParseError(f"{rel}: line {n} is not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or row.get("type") not in _KINDS:
            raise ParseError(f"{rel}: line {n} is not a Mattermost bulk-export record (no known 'type')")
        rows.append((n, row))
    return rows


def _ms(value: object) -> str | None:
    return iso_ts(float(value) / 1000) if isinstance(value, int | float) else iso_ts(value)


class _People:
    def __init__(self, ctx: LoadContext, rows: list[tuple[int, dict]]) -> None:
        self.ctx, self.names, self.emails = ctx, {}, {}
        for _, row in rows:
            u = row.get("user") if row["type"] == "user" else None
            if isinstance(u, dict) and u.get("username"):
                full = " ".join(str(u.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
                raw = full or str(u.get("nickname") or u["username"])
                if u.get("email"):
                    hit = ctx.people.canonical(str(u["email"]))
                    raw = hit if hit != u["email"] else raw
                    self.emails[u["username"]] = str(u["email"])
                self.names[u["username"]] = ctx.people.canonical(raw)

    def name(self, username: object) -> str:
        return self.names.get(str(username), self.ctx.people.canonical(str(username or "unknown")))


def load_mattermost(ctx: LoadContext, file: Path) -> LoadResult:
    """Every channel and direct chat of the export, threads with their replies, the rest by day."""
    rel = ctx.rel(file)
    rows = _lines(ctx, file)
    people = _People(ctx, rows)
    private = {(c.get("team"), c.get("name")) for _, r in rows if r["type"] == "channel"
               and isinstance(c := r.get("channel"), dict) and c.get("type") == "P"}
    logs: dict[str, ChatLog] = {}
    for n, row in rows:
        post = row.get(row["type"])
        if row["type"] not in ("post", "direct_post") or not isinstance(post, dict):
            continue
        if row["type"] == "post":
            team, chan = post.get("team"), post.get("channel")
            name = f"{team}/{chan}" if team else str(chan)
            access: tuple[str, ...] = (f"mattermost:{name}",) if (team, chan) in private else ()
        else:
            members = sorted(str(m) for m in post.get("channel_members") or [])
            name = "dm:" + ",".join(members)
            access = tuple(sorted(email_group(people.emails[m]) for m in members if m in people.emails)) or (
                f"mattermost:{name}",)
        log = logs.setdefault(name, ChatLog(channel=name, key=name, access=access))
        pid = str(post.get("id") or f"L{n}")
        parent = str(post.get("root_id") or "") or None
        log.messages.append(Message(author=people.name(post.get("user")), text=str(post.get("message") or ""),
                                    ts=_ms(post.get("create_at")), id=pid, reply_to=parent))
        for i, reply in enumerate(post.get("replies") or []):
            if isinstance(reply, dict):
                log.messages.append(Message(author=people.name(reply.get("user")),
                                            text=str(reply.get("message") or ""), ts=_ms(reply.get("create_at")),
                                            id=f"{pid}.{i + 1}", reply_to=pid))
    if not logs:
        raise ParseError(f"{rel}: a Mattermost export with no posts")
    return documents(ctx, rel=rel, logs=list(logs.values()), fmt=FORMAT)
