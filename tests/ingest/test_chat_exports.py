"""Chat exports as thread documents: per-message authors, times and the format's own reply links.

Each fixture follows its exporter's real layout (field names and nesting as the tool writes them); files
are named neutrally where the format is recognised by content, not by name."""

from __future__ import annotations

import json

import pytest

from ingest.pipeline import ingest
from rag.types import Chunk
from tests.ingest.helpers import by_source, stored_chunks, write, write_json


def _msgs(chunks: list[Chunk]) -> list[tuple[str, str | None, str, str | None, str | None]]:
    """(author, ts, text, id, reply_to) of a thread document's messages."""
    return [(m.author, m.ts, m.text, m.id, m.reply_to) for m in chunks[0].messages]


DISCORD = {
    "guild": {"id": "81384788765712384", "name": "Kestrel Ops", "iconUrl": "https://cdn.example/icon.png"},
    "channel": {"id": "381870553235193857", "type": "GuildTextChat", "categoryId": "3818705", "category": "Ops",
                "name": "deploys", "topic": None},
    "dateRange": {"after": None, "before": None},
    "exportedAt": "2024-03-02T10:00:00+00:00",
    "messages": [
        {"id": "1001", "type": "Default", "timestamp": "2024-03-01T09:00:00.123+00:00", "timestampEdited": None,
         "isPinned": False, "content": "How do I roll back the billing service?",
         "author": {"id": "1", "name": "ann.lee", "discriminator": "0000", "nickname": "Ann Lee", "isBot": False},
         "attachments": [], "embeds": [], "stickers": [], "reactions": [], "mentions": []},
        {"id": "1002", "type": "GuildMemberJoin", "timestamp": "2024-03-01T09:01:00+00:00", "content": "",
         "author": {"id": "3", "name": "newbie", "isBot": False}},
        {"id": "1003", "type": "Reply", "timestamp": "2024-03-01T09:05:00+00:00",
         "content": "Run deployctl rollback billing --to previous.",
         "author": {"id": "2", "name": "bob", "nickname": "Bob Stone", "isBot": False},
         "reference": {"messageId": "1001", "channelId": "381870553235193857", "guildId": "81384788765712384"}},
        {"id": "1004", "type": "Default", "timestamp": "2024-03-01T12:00:00+00:00",
         "content": "", "author": {"id": "9", "name": "CI Bot", "isBot": True},
         "embeds": [{"title": "Build 812 passed", "description": "billing main is green"}]},
    ],
    "messageCount": 4,
}


def test_discord_chat_exporter_json(corpus, settings):
    write_json(corpus, "exports/deploys.json", DISCORD)

    assert ingest(corpus, settings).failed == []

    docs = by_source(stored_chunks(settings))
    thread = docs["exports/deploys.json#1001"]
    assert _msgs(thread) == [
        ("Ann Lee", "2024-03-01T09:00:00+00:00", "How do I roll back the billing service?", "1001", None),
        ("Bob Stone", "2024-03-01T09:05:00+00:00", "Run deployctl rollback billing --to previous.", "1003", "1001")]
    assert thread[0].channel == "Ops/deploys" and thread[0].doc_authors == ("Ann Lee", "Bob Stone")
    day = docs["exports/deploys.json#2024-03-01"]
    assert [m.author for m in day[0].messages] == ["CI Bot [bot]"]
    assert "Build 812 passed" in day[0].messages[0].text and day[0].messages[0].role == "bot"


def test_telegram_desktop_result_json(corpus, settings):
    write_json(corpus, "result.json", {
        "name": "Platform team", "type": "private_group", "id": 4417512,
        "messages": [
            {"id": 1, "type": "service", "date": "2023-05-02T08:00:00", "date_unixtime": "1683014400",
             "actor": "Ann Lee", "actor_id": "user1", "action": "create_group", "title": "Platform team",
             "text": "", "text_entities": []},
            {"id": 2, "type": "message", "date": "2023-05-02T08:10:00", "date_unixtime": "1683015000",
             "from": "Ann Lee", "from_id": "user1", "text": ["Is ", {"type": "bold", "text": "staging"},
                                                             " down for everyone?"],
             "text_entities": [{"type": "plain", "text": "Is "}, {"type": "bold", "text": "staging"}]},
            {"id": 3, "type": "message", "date": "2023-05-02T08:12:00", "date_unixtime": "1683015120",
             "from": "Chen Wu", "from_id": "user7", "reply_to_message_id": 2,
             "text": "Yes, the load balancer cert expired.", "text_entities": []},
        ]})

    assert ingest(corpus, settings).failed == []

    docs = by_source(stored_chunks(settings))
    assert _msgs(docs["result.json#2"]) == [
        ("Ann Lee", "2023-05-02T08:10:00+00:00", "Is staging down for everyone?", "2", None),
        ("Chen Wu", "2023-05-02T08:12:00+00:00", "Yes, the load balancer cert expired.", "3", "2")]
    assert docs["result.json#2"][0].channel == "Platform team"


def test_facebook_messenger_json_is_read_oldest_first_with_its_mojibake_fixed(corpus, settings):
    write(corpus, "inbox/anna_xyz/message_1.json", json.dumps({
        "participants": [{"name": "Jos\u00c3\u00a9 Ruiz"}, {"name": "Ann Lee"}],
        "messages": [
            {"sender_name": "Jos\u00c3\u00a9 Ruiz", "timestamp_ms": 1700000600000,
             "content": "Caf\u00c3\u00a9 at 10 then, bring the rota.", "is_geoblocked_for_viewer": False},
            {"sender_name": "Ann Lee", "timestamp_ms": 1700000000000, "content": "When is the on-call handover?",
             "is_geoblocked_for_viewer": False},
            {"sender_name": "Ann Lee", "timestamp_ms": 1700000300000, "photos": [{"uri": "photo.jpg"}]},
        ],
        "title": "Jos\u00c3\u00a9 Ruiz", "is_still_participant": True, "thread_type": "Regular",
        "thread_path": "inbox/joseruiz_xyz"}))

    assert ingest(corpus, settings).failed == []

    [(source, chunks)] = by_source(stored_chunks(settings)).items()
    assert source == "inbox/anna_xyz/message_1.json#2023-11-14"
    assert [(a, ts, text) for a, ts, text, _, _ in _msgs(chunks)] == [
        ("Ann Lee", "2023-11-14T22:13:20+00:00", "When is the on-call handover?"),
        ("José Ruiz", "2023-11-14T22:23:20+00:00", "Café at 10 then, bring the rota.")]
    assert chunks[0].channel == "José Ruiz"


def test_microsoft_teams_graph_messages_with_replies(corpus, settings):
    write_json(corpus, "teams/general.json", {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#teams('x')/channels('y')/messages",
        "value": [
            {"id": "1616965872395", "replyToId": None, "messageType": "message",
             "createdDateTime": "2021-03-28T21:11:12.395Z", "deletedDateTime": None, "subject": "Laptop refresh",
             "body": {"contentType": "html", "content": "<div><p>Who approves laptop refresh &amp; repairs?</p></div>"},
             "from": {"application": None, "device": None,
                      "user": {"id": "8ea0e38b", "displayName": "Ann Lee", "userIdentityType": "aadUser"}},
             "channelIdentity": {"teamId": "fbe2bf47", "channelId": "19:4a95f7d8@thread.tacv2"},
             "replies": [
                 {"id": "1616965900000", "replyToId": "1616965872395", "messageType": "message",
                  "createdDateTime": "2021-03-28T21:12:00Z", "subject": None,
                  "body": {"contentType": "text", "content": "IT ops does, file a ticket in the portal."},
                  "from": {"user": {"id": "2", "displayName": "Dana Kim"}, "application": None}}]},
            {"id": "1616966000000", "replyToId": None, "messageType": "systemEventMessage",
             "createdDateTime": "2021-03-28T21:15:00Z", "from": None,
             "body": {"contentType": "html", "content": "<systemEventMessage/>"}},
        ]})

    assert ingest(corpus, settings).failed == []

    docs = by_source(stored_chunks(settings))
    assert _msgs(docs["teams/general.json#1616965872395"]) == [
        ("Ann Lee", "2021-03-28T21:11:12+00:00", "Laptop refresh\nWho approves laptop refresh & repairs?",
         "1616965872395", None),
        ("Dana Kim", "2021-03-28T21:12:00+00:00", "IT ops does, file a ticket in the portal.", "1616965900000",
         "1616965872395")]


def test_rocket_chat_history_with_a_thread(corpus, settings):
    write_json(corpus, "rc/support.json", {"messages": [
        {"_id": "r3", "rid": "GENERAL", "msg": "Try clearing the token cache.", "ts": "2022-01-10T10:05:00.000Z",
         "u": {"_id": "u2", "username": "bstone", "name": "Bob Stone"}, "tmid": "r1", "_updatedAt": "x"},
        {"_id": "r2", "rid": "GENERAL", "msg": "carl", "t": "uj", "ts": "2022-01-10T10:01:00.000Z",
         "u": {"_id": "u3", "username": "carl"}},
        {"_id": "r1", "rid": "GENERAL", "msg": "SSO login loops forever, ideas?", "ts": {"$date": 1641808800000},
         "u": {"_id": "u1", "username": "alee", "name": "Ann Lee"}, "tcount": 1},
    ], "count": 3, "offset": 0, "total": 3, "success": True})

    assert ingest(corpus, settings).failed == []

    docs = by_source(stored_chunks(settings))
    assert _msgs(docs["rc/support.json#r1"]) == [
        ("Ann Lee", "2022-01-10T10:00:00+00:00", "SSO login loops forever, ideas?", "r1", None),
        ("Bob Stone", "2022-01-10T10:05:00+00:00", "Try clearing the token cache.", "r3", "r1")]
    assert docs["rc/support.json#r1"][0].channel == "GENERAL"


MATTERMOST = [
    {"type": "version", "version": 1},
    {"type": "team", "team": {"name": "eng", "display_name": "Engineering", "type": "O"}},
    {"type": "channel", "channel": {"team": "eng", "name": "town-square", "display_name": "Town Square",
                                    "type": "O"}},
    {"type": "channel", "channel": {"team": "eng", "name": "security", "display_name": "Security", "type": "P"}},
    {"type": "user", "user": {"username": "alee", "email": "ann@kestrel.example", "first_name": "Ann",
                              "last_name": "Lee", "teams": [{"name": "eng"}]}},
    {"type": "user", "user": {"username": "bstone", "email": "bob@kestrel.example", "first_name": "Bob",
                              "last_name": "Stone"}},
    {"type": "post", "post": {"team": "eng", "channel": "town-square", "user": "alee",
                              "message": "Where do the release notes live?", "create_at": 1588327200000,
                              "replies": [{"user": "bstone", "message": "In the wiki under Releases.",
                                           "create_at": 1588327260000}]}},
    {"type": "post", "post": {"team": "eng", "channel": "security", "user": "bstone",
                              "message": "Rotating the VPN keys tonight.", "create_at": 1588330800000}},
    {"type": "direct_post", "direct_post": {"channel_members": ["alee", "bstone"], "user": "alee",
                                            "message": "Thanks for the notes!", "create_at": 1588331000000}},
]


def test_mattermost_bulk_export_jsonl(corpus, settings):
    write(corpus, "mattermost/export.jsonl", "\n".join(json.dumps(r) for r in MATTERMOST) + "\n")

    assert ingest(corpus, settings).failed == []

    docs = by_source(stored_chunks(settings))
    thread = docs["mattermost/export.jsonl#eng/town-square/L7"]
    assert [(a, ts, text, rt) for a, ts, text, _, rt in _msgs(thread)] == [
        ("Ann Lee", "2020-05-01T10:00:00+00:00", "Where do the release notes live?", None),
        ("Bob Stone", "2020-05-01T10:01:00+00:00", "In the wiki under Releases.", "L7")]
    assert thread[0].access == ("public",)
    private = docs["mattermost/export.jsonl#eng/security/2020-05-01"]
    assert private[0].access == ("mattermost:eng/security",)  # never public: a private channel
    dm = docs["mattermost/export.jsonl#dm:alee,bstone/2020-05-01"]
    assert set(dm[0].access) == {"email:ann@kestrel.example", "email:bob@kestrel.example"}


@pytest.mark.parametrize(("lines", "first_ts"), [
    (["12/31/20, 9:41 PM - Messages and calls are end-to-end encrypted. No one outside of this chat can read them.",
      "12/31/20, 9:41 PM - Ann Lee: Where is the VPN guide?",
      "12/31/20, 9:45 PM - Bob Stone: In the IT space of the wiki.",
      "It moved there last week.",
      "12/31/20, 9:46 PM - Ann Lee: <Media omitted>"], "2020-12-31T21:41:00"),
    (["[31.12.20, 21:41:05] Ann Lee: Where is the VPN guide?",
      "[31.12.20, 21:45:00] Bob Stone: In the IT space of the wiki.",
      "It moved there last week.",
      "[31.12.20, 21:46:00] Ann Lee: \u200eimage omitted"], "2020-12-31T21:41:05"),
], ids=["android-us", "ios-eu"])
def test_whatsapp_chat_export_txt(corpus, settings, lines, first_ts):
    write(corpus, "chats/WhatsApp Chat with IT help.txt", "\n".join(lines) + "\n")

    assert ingest(corpus, settings).failed == []

    [(source, chunks)] = by_source(stored_chunks(settings)).items()
    assert source == "chats/WhatsApp Chat with IT help.txt#2020-12-31"
    msgs = chunks[0].messages
    assert [(m.author, m.text) for m in msgs] == [
        ("Ann Lee", "Where is the VPN guide?"),
        ("Bob Stone", "In the IT space of the wiki.\nIt moved there last week.")]
    assert msgs[0].ts == first_ts and msgs[1].role == "answer" and chunks[0].channel == "IT help"


def test_generic_thread_json_is_not_taken_for_a_chat_format(corpus, settings):
    write_json(corpus, "threads/t.json", {"title": "VPN", "messages": [
        {"author": "Ann Lee", "text": "VPN drops hourly?", "ts": "2024-01-01T10:00:00+00:00"},
        {"author": "Bob Stone", "text": "Renew the DHCP lease.", "ts": "2024-01-01T10:05:00+00:00"}]})

    assert ingest(corpus, settings).failed == []

    chunks = by_source(stored_chunks(settings))["threads/t.json"]
    assert chunks[0].title == "VPN" and [m.author for m in chunks[0].messages] == ["Ann Lee", "Bob Stone"]
