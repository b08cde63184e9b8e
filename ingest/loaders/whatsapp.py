"""WhatsApp "Export chat" text: ``12/31/20, 9:41 PM - Ann Lee: text`` (Android) or
``[31.12.20, 21:41:05] Ann Lee: text`` (iOS); a line without that prefix continues the message before.

Whether dates are day-first is decided from the whole file (a first field over 12 means day-first;
a second over 12 means month-first; otherwise 12-hour times suggest month-first)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from ingest.context import LoadContext, LoadResult, decode_text
from ingest.filetypes import WHATSAPP_LINE
from ingest.loaders.chat import ChatLog, documents
from rag.errors import ParseError
from rag.types import Message

FORMAT = "whatsapp"
_SENDER = re.compile(r"^(?P<who>[^:]{1,80}?): (?P<text>.*)$", re.DOTALL)
_OMITTED = re.compile(r"^<(Media|attached:)[^>]*>$|^‎?(image|video|audio|sticker|GIF) omitted$", re.IGNORECASE)


def _day_first(matches: list[re.Match[str]]) -> bool:
    if any(int(m["d"]) > 12 for m in matches):
        return True
    if any(int(m["m"]) > 12 for m in matches):
        return False
    return not any(m["ampm"] for m in matches)


def _when(m: re.Match[str], day_first: bool) -> str | None:
    day, month = (int(m["d"]), int(m["m"])) if day_first else (int(m["m"]), int(m["d"]))
    year = int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
    parts = [int(p) for p in re.split(r"[:.]", m["t"])]
    hour, minute, sec = parts[0], parts[1], parts[2] if len(parts) > 2 else 0
    ampm = (m["ampm"] or "").lower().replace(".", "").replace(" ", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    try:
        return dt.datetime(year, month, day, hour, minute, sec).isoformat(timespec="seconds")
    except ValueError:
        return None


def load_whatsapp(ctx: LoadContext, file: Path) -> LoadResult:
    """The chat by day, each message with its sender and local time (as the export writes it)."""
    rel = ctx.rel(file)
    lines = decode_text(file.read_bytes(), rel).replace("\u202f", " ").splitlines()
    heads = [(i, m) for i, ln in enumerate(lines) if (m := WHATSAPP_LINE.match(ln))]
    if not heads:
        raise ParseError(f"{rel}: no WhatsApp message lines ('DATE, TIME - NAME: text')")
    day_first = _day_first([m for _, m in heads])
    bounds = [i for i, _ in heads] + [len(lines)]
    chat = Path(rel).stem.removeprefix("WhatsApp Chat with ").removeprefix("WhatsApp Chat - ")
    log = ChatLog(channel=chat)
    for (i, m), end in zip(heads, bounds[1:], strict=True):
        body = "\n".join([m["rest"], *lines[i + 1:end]]).strip()
        sent = _SENDER.match(body)
        if sent is None:  # "Messages and calls are end-to-end encrypted", "Ann added Bob"
            continue
        text = sent["text"].strip()
        if _OMITTED.match(text) or text == "This message was deleted":
            continue
        log.messages.append(Message(author=ctx.people.canonical(sent["who"].strip().lstrip("\u200e~ ")),
                                    text=text, ts=_when(m, day_first)))
    return documents(ctx, rel=rel, logs=[log], fmt=FORMAT)
