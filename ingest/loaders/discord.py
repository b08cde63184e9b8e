"""DiscordChatExporter JSON: ``{"guild", "channel", "messages": [{"id", "timestamp", "content", "author",
"reference": {"messageId"}}]}``; replies keep their ``reference``, bots are credited as bots."""

from __future__ import annotations

from ingest.context import LoadContext
from ingest.loaders.chat import ChatLog, bot_name
from ingest.loaders.threads import iso_ts
from rag.types import Message

FORMAT = "discord"
_CHAT_TYPES = {"Default", "Reply", "ThreadStarterMessage", "SlashCommand", "ContextMenuCommand", "", None}


def claims(data: object) -> bool:
    """A DiscordChatExporter file: guild and channel objects beside the message list."""
    return (isinstance(data, dict) and isinstance(data.get("guild"), dict) and isinstance(data.get("channel"), dict)
            and isinstance(data.get("messages"), list))


def read(ctx: LoadContext, rel: str, data: object) -> list[ChatLog]:
    """The channel's messages with authors (server nickname first), times and reply links."""
    assert isinstance(data, dict)
    chan = data["channel"]
    name = str(chan.get("name") or chan.get("id") or rel)
    category = chan.get("category")
    log = ChatLog(channel=f"{category}/{name}" if category and category != name else name)
    for raw in data["messages"]:
        if not isinstance(raw, dict) or raw.get("type") not in _CHAT_TYPES:
            continue  # joins, pins, calls, renames
        text = str(raw.get("content") or "")
        for emb in raw.get("embeds") or []:  # bots often speak in embeds
            if isinstance(emb, dict):
                text += "\n" + "\n".join(str(emb.get(k)) for k in ("title", "description") if emb.get(k))
        author: dict = raw["author"] if isinstance(raw.get("author"), dict) else {}
        who = ctx.people.canonical(str(author.get("nickname") or author.get("name") or "unknown"))
        ref: dict = raw["reference"] if isinstance(raw.get("reference"), dict) else {}
        log.messages.append(Message(author=bot_name(who) if author.get("isBot") else who, text=text.strip(),
                                    ts=iso_ts(raw.get("timestamp")), id=str(raw.get("id") or "") or None,
                                    reply_to=str(ref["messageId"]) if ref.get("messageId") else None))
    return [log]
