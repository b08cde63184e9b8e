"""E-mail as organisations and list archives hold it: mboxes with 8-bit separator lines, senders named in a
comment, HTML-only mail, MIME digests, UTF-16 bodies, one message in two files, and Outlook .msg files (mail
and news saved as .txt and attribution lines: test_email_text.py). Each fixture is in its format's own structure."""

from __future__ import annotations

import base64
import codecs
import datetime as dt
import textwrap

from ingest.loaders.email import split_mbox
from ingest.pipeline import DuplicatePath, ingest
from tests.ingest.helpers import by_source, manifest_docs, stored_chunks, thread_messages, write
from tests.ingest.outlook_msg import write_msg


def _eml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# An mbox whose 'From ' lines carry Latin-1 bytes (é, ö), as list archivers write them for non-ASCII
# senders; a body line 'From 9:30 ...' that is no separator; mboxo's '>From ' escape; and a Thunderbird
# 'From - DATE' separator with no blank line before it.
MBOX_8BIT = (
    b"From j\xf6rg.brandt@x.org Mon Jan  1 10:00:00 2024\n"
    b"From: =?iso-8859-1?q?J=F6rg_Brandt?= <jorg.brandt@x.org>\n"
    b"To: ops@x.org\n"
    b"Subject: Generator test on Saturday\n"
    b"Message-ID: <g1@x.org>\n"
    b"Date: Mon, 1 Jan 2024 10:00:00 +0100\n"
    b"Content-Type: text/plain; charset=iso-8859-1\n"
    b"Content-Transfer-Encoding: 8bit\n"
    b"\n"
    b"The generator test runs on Saturday. Gr\xfc\xdfe, J\xf6rg\n"
    b"\n"
    b"From 9:30 the server room is closed.\n"
    b">From Monday the key is back at reception.\n"
    b"\n"
    b"From ren\xe9.dubois@x.org Mon Jan  1 11:00:00 2024\n"
    b"From: =?utf-8?q?Ren=C3=A9_Dubois?= <rene.dubois@x.org>\n"
    b"To: ops@x.org\n"
    b"Subject: Re: Generator test on Saturday\n"
    b"Message-ID: <g2@x.org>\n"
    b"In-Reply-To: <g1@x.org>\n"
    b"References: <g1@x.org>\n"
    b"Date: Mon, 1 Jan 2024 11:00:00 +0100\n"
    b"Content-Type: text/plain; charset=utf-8\n"
    b"\n"
    b"Caf\xc3\xa9 will be shut too, bring coffee.\n"
    b"From - Mon Jan  1 12:00:00 2024\n"
    b"From: Cara Diaz <cara@x.org>\n"
    b"Subject: Parking permits\n"
    b"Message-ID: <p1@x.org>\n"
    b"Date: Mon, 1 Jan 2024 12:00:00 +0000\n"
    b"\n"
    b"New permits are at the front desk.\n"
)


def test_mbox_with_8bit_from_lines_reads_every_message(corpus, settings):
    write(corpus, "mail/ops.mbox", MBOX_8BIT)

    summary = ingest(corpus, settings)

    assert summary.failed == [] and summary.documents == 2
    threads = thread_messages(settings)
    generator = threads["mail/ops.mbox#g1@x.org"]
    assert [(m.author, m.ts, m.id, m.reply_to) for m in generator] == [
        ("Jörg Brandt", "2024-01-01T10:00:00+01:00", "g1@x.org", None),
        ("René Dubois", "2024-01-01T11:00:00+01:00", "g2@x.org", "g1@x.org")]
    assert generator[0].text == ("The generator test runs on Saturday. Grüße, Jörg\n\n"
                                 "From 9:30 the server room is closed.\nFrom Monday the key is back at reception.")
    assert generator[1].text == "Café will be shut too, bring coffee."
    assert [(m.author, m.text) for m in threads["mail/ops.mbox#p1@x.org"]] == [
        ("Cara Diaz", "New permits are at the front desk.")]


# A Mailman (pipermail) monthly archive saved as .txt: an mbox whose senders are 'addr at host (Full Name)'.
PIPERMAIL = """\
From ann at x.org  Mon Jan  1 10:00:00 2024
From: ann at x.org (Ann Lee)
Date: Mon, 1 Jan 2024 10:00:00 +0000
Subject: [ops] Printer toner
Message-ID: <t1@x.org>

Who orders toner for the floor 3 printer?

From bob at x.org  Mon Jan  1 10:30:00 2024
From: bob at x.org (Bob Stone)
Date: Mon, 1 Jan 2024 10:30:00 +0000
Subject: [ops] Printer toner
In-Reply-To: <t1@x.org>
References: <t1@x.org>
Message-ID: <t2@x.org>

Facilities do, ticket queue FAC.
"""


def test_sender_named_in_a_comment_keeps_the_name(corpus, settings):
    write(corpus, "archive/2024-January.txt", PIPERMAIL)
    write(corpus, "mail/comment.eml", _eml("""
        From: cara.diaz@x.org (Cara Diaz)
        Subject: Re: [ops] Printer toner
        Message-ID: <t3@x.org>
        In-Reply-To: <t2@x.org>
        Date: Mon, 1 Jan 2024 11:00:00 +0000

        Ordered two, they arrive Thursday.
        """))
    write(corpus, "mail/encoded.eml", _eml("""
        From: jorg@x.org (=?utf-8?q?J=C3=B6rg_Brandt?=)
        Subject: Fire drill
        Message-ID: <f1@x.org>
        Date: Tue, 2 Jan 2024 09:00:00 +0000

        Fire drill at 14:00, assemble in the car park.
        """))

    assert ingest(corpus, settings).failed == []

    threads = thread_messages(settings)
    toner = threads["archive/2024-January.txt#t1@x.org"]
    assert [(m.author, m.id, m.reply_to) for m in toner] == [
        ("Ann Lee", "t1@x.org", None), ("Bob Stone", "t2@x.org", "t1@x.org"), ("Cara Diaz", "t3@x.org", "t2@x.org")]
    assert [m.author for m in threads["mail/encoded.eml"]] == ["Jörg Brandt"]
    chunk = by_source(stored_chunks(settings))["archive/2024-January.txt#t1@x.org"][0]
    assert chunk.kind == "thread" and chunk.doc_authors == ("Ann Lee", "Bob Stone", "Cara Diaz")


HTML_MAIL = """\
From: Ann Lee <ann@x.org>
To: Bob Stone <bob@x.org>
Subject: Re: Guest wifi
Message-ID: <w2@x.org>
In-Reply-To: <w1@x.org>
Date: Mon, 1 Jan 2024 10:00:00 +0000
MIME-Version: 1.0
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

<html><head><style>p { color: red; font-family: Calibri; }</style>
<script type=3D"text/javascript">var tracking =3D "pixel";</script><title>Outlook title</title></head>
<body><div class=3D"WordSection1"><p>Hi&nbsp;Bob,</p>
<p>The caf&eacute; wifi password is&nbsp;&nbsp;   <b>Kestrel&amp;2024</b> &mdash; it
   changes on the&nbsp;1st.</p>
<ul><li>Guest network: &lt;kestrel-guest&gt;</li><li>Staff:    kestrel-staff</li></ul>
<!-- [if mso]>ignored<![endif] -->
<div class=3D"gmail_quote"><div class=3D"gmail_attr">On Mon, 1 Jan 2024 at 09:00, Bob Stone &lt;bob@x.or=
g&gt; wrote:<br></div>
<blockquote class=3D"gmail_quote"><p>What is the guest wifi password?</p></blockquote></div>
</div></body></html>
"""


def test_html_only_mail_becomes_clean_text(corpus, settings):
    write(corpus, "mail/wifi.eml", HTML_MAIL)

    assert ingest(corpus, settings).failed == []

    (msg,) = thread_messages(settings)["mail/wifi.eml"]
    assert msg.text == ("Hi Bob,\n\nThe café wifi password is Kestrel&2024 — it changes on the 1st.\n\n"
                        "- Guest network: <kestrel-guest>\n- Staff: kestrel-staff")
    assert (msg.author, msg.ts, msg.id, msg.reply_to) == ("Ann Lee", "2024-01-01T10:00:00+00:00", "w2@x.org", None)


# A Mailman MIME digest: a table of contents, a multipart/digest of message/rfc822 parts (the second with
# no headers of its own: message/rfc822 is the digest's default), and a footer.
DIGEST = """\
From: ops-request@x.org
To: ops@x.org
Subject: Ops Digest, Vol 3, Issue 7
Date: Tue, 2 Jan 2024 06:00:00 +0000
Message-ID: <digest-3-7@x.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="===============0001=="

--===============0001==
Content-Type: text/plain; charset="us-ascii"
Content-Description: Ops Digest, Vol 3, Issue 7

Send Ops mailing list submissions to ops@x.org

Today's Topics:

   1. Backup window moves to 02:00 (Ann Lee)
   2. Re: Backup window moves to 02:00 (Bob Stone)
   3. Parking permits (Cara Diaz)

--===============0001==
Content-Type: multipart/digest; boundary="===============0002=="

--===============0002==
Content-Type: message/rfc822
MIME-Version: 1.0

From: Ann Lee <ann@x.org>
To: ops@x.org
Subject: Backup window moves to 02:00
Message-ID: <b1@x.org>
Date: Mon, 1 Jan 2024 09:00:00 +0000

From Monday the nightly backup starts at 02:00, not 23:00.

--===============0002==

From: Bob Stone <bob@x.org>
To: ops@x.org
Subject: Re: Backup window moves to 02:00
Message-ID: <b2@x.org>
In-Reply-To: <b1@x.org>
References: <b1@x.org>
Date: Mon, 1 Jan 2024 10:00:00 +0000

Then the report job must move to 04:00.

> From Monday the nightly backup starts at 02:00, not 23:00.

--===============0002==
Content-Type: message/rfc822
MIME-Version: 1.0

From: Cara Diaz <cara@x.org>
To: ops@x.org
Subject: Parking permits
Message-ID: <c1@x.org>
Date: Mon, 1 Jan 2024 11:00:00 +0000

Permits for 2024 are at the front desk.

--===============0002==--

--===============0001==
Content-Type: text/plain; charset="us-ascii"
Content-Description: Digest Footer

_______________________________________________
Ops mailing list
ops@x.org

--===============0001==--
"""


def test_digest_is_split_into_its_messages(corpus, settings):
    write(corpus, "mail/ops-digest.eml", DIGEST)
    # A reply that arrived on its own, to a message the digest carries: threaded by that message's headers.
    write(corpus, "mail/reply.eml", _eml("""
        From: Dana Fox <dana@x.org>
        Subject: Re: Backup window moves to 02:00
        Message-ID: <b3@x.org>
        In-Reply-To: <b2@x.org>
        References: <b1@x.org> <b2@x.org>
        Date: Mon, 1 Jan 2024 12:00:00 +0000

        Report job moved, see the runbook.
        """))

    summary = ingest(corpus, settings)

    assert summary.failed == [] and summary.documents == 2
    threads = thread_messages(settings)
    assert set(threads) == {"mail/ops-digest.eml#b1@x.org", "mail/ops-digest.eml#c1@x.org"}
    backup = threads["mail/ops-digest.eml#b1@x.org"]
    assert [(m.author, m.ts, m.id, m.reply_to, m.text) for m in backup] == [
        ("Ann Lee", "2024-01-01T09:00:00+00:00", "b1@x.org", None,
         "From Monday the nightly backup starts at 02:00, not 23:00."),
        ("Bob Stone", "2024-01-01T10:00:00+00:00", "b2@x.org", "b1@x.org", "Then the report job must move to 04:00."),
        ("Dana Fox", "2024-01-01T12:00:00+00:00", "b3@x.org", "b2@x.org", "Report job moved, see the runbook.")]
    assert [(m.author, m.ts) for m in threads["mail/ops-digest.eml#c1@x.org"]] == [
        ("Cara Diaz", "2024-01-01T11:00:00+00:00")]
    stored = "\n".join(c.text for c in stored_chunks(settings))
    assert "Today's Topics" not in stored and "Ops mailing list" not in stored and "ops-request" not in stored


def _utf16_mail(mid: str, content_type: str, body: bytes) -> str:
    return (f"From: Ann Lee <ann@x.org>\nSubject: Badge printer {mid}\nMessage-ID: <{mid}@x.org>\n"
            f"Date: Mon, 1 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: {content_type}\n"
            f"Content-Transfer-Encoding: base64\n\n{base64.encodebytes(body).decode()}")


def test_utf16_bodies_decode(corpus, settings):
    text = "Grüße aus Köln – the badge printer is fixed.\n"
    write(corpus, "mail/bom.eml", _utf16_mail("u1", 'text/plain; charset="utf-16"', text.encode("utf-16")))
    write(corpus, "mail/big-endian.eml", _utf16_mail("u2", "text/plain; charset=UTF-16",
                                                     text.encode("utf-16-be")))  # no byte-order mark
    write(corpus, "mail/undeclared.eml", _utf16_mail("u3", "text/plain",  # no charset, a byte-order mark
                                                     codecs.BOM_UTF16_LE + text.encode("utf-16-le")))
    write(corpus, "mail/utf16le.eml", _utf16_mail("u4", "text/plain; charset=utf-16le", text.encode("utf-16-le")))

    assert ingest(corpus, settings).failed == []

    threads = thread_messages(settings)
    assert {src: [m.text for m in msgs] for src, msgs in threads.items()} == {
        f"mail/{name}.eml": [text.strip()] for name in ("bom", "big-endian", "undeclared", "utf16le")}


VPN_ASKED = _eml("""
    From: Ann Lee <ann@x.org>
    Subject: VPN certificate
    Message-ID: <v1@x.org>
    Date: Mon, 1 Jan 2024 10:00:00 +0000

    The VPN certificate expires on Friday.
    """)
VPN_RENEWED = _eml("""
    From: Bob Stone <bob@x.org>
    Subject: Re: VPN certificate
    Message-ID: <v2@x.org>
    In-Reply-To: <v1@x.org>
    Date: Mon, 1 Jan 2024 11:00:00 +0000

    Renewed it, valid until 2025.
    """)


def test_one_message_in_two_files_is_stored_once_with_both_paths(corpus, settings):
    write(corpus, "mail/a.mbox", "From ann@x.org Mon Jan  1 10:00:00 2024\n" + VPN_ASKED + "\n"
          "From bob@x.org Mon Jan  1 11:00:00 2024\n" + VPN_RENEWED)
    # The same message as received from the list (a footer added), and a copy in a second mailbox.
    write(corpus, "mail/b.eml", VPN_ASKED + "--\x20\nops mailing list\n")
    write(corpus, "mail/c.mbox", "From bob@x.org Mon Jan  1 11:00:00 2024\n" + VPN_RENEWED)

    summary = ingest(corpus, settings)

    assert summary.failed == [] and summary.documents == 1
    (chunk,) = stored_chunks(settings)
    assert [(m.author, m.id, m.reply_to) for m in chunk.messages] == [
        ("Ann Lee", "v1@x.org", None), ("Bob Stone", "v2@x.org", "v1@x.org")]
    paths = ("mail/a.mbox#v1@x.org", "mail/b.eml", "mail/c.mbox#v2@x.org")
    assert chunk.source == "mail/a.mbox#v1@x.org" and chunk.paths == paths
    (record,) = manifest_docs(settings)
    assert tuple(record.paths) == paths
    assert [DuplicatePath(path="mail/b.eml", of="mail/a.mbox#v1@x.org"),
            DuplicatePath(path="mail/c.mbox#v2@x.org", of="mail/a.mbox#v1@x.org")] == summary.duplicate_paths
    # no file without an outcome; the two copies are reported as duplicates, not as stored
    assert summary.outcomes == {"mail/a.mbox": "stored", "mail/b.eml": "duplicate", "mail/c.mbox": "duplicate"}

    again = ingest(corpus, settings)
    assert (again.added, again.replaced, again.deleted, again.documents) == (0, 0, 0, 1)
    assert again.outcomes == {"mail/a.mbox": "unchanged", "mail/b.eml": "duplicate", "mail/c.mbox": "duplicate"}


def test_outlook_msg_is_a_one_message_thread(corpus, settings):
    sent = dt.datetime(2024, 1, 2, 9, 30, tzinfo=dt.UTC)
    write_msg(corpus / "mail" / "badge.msg", subject="Badge reader on door 4", sender_name="Ann Lee",
              sender_email="ann@x.org", sent=sent,
              body="Hold the badge for two seconds; the reader is slow since the update.\r\n\r\n"
                   "> Why does door 4 not open?\r\n")
    write_msg(corpus / "mail" / "html-only.msg", subject="Guest wifi", sender_name="Bob Stone",
              sender_email="bob@x.org", sent=sent + dt.timedelta(hours=1),
              html="<html><head><style>p {color: red}</style></head><body><p>Guest&nbsp;wifi: "
                   "<b>kestrel&amp;guest</b></p></body></html>")

    summary = ingest(corpus, settings)

    assert summary.failed == [] and summary.documents == 2
    chunks = by_source(stored_chunks(settings))
    badge = chunks["mail/badge.msg"][0]
    assert (badge.kind, badge.title, badge.doc_authors, badge.date) == (
        "thread", "Badge reader on door 4", ("Ann Lee",), "2024-01-02")
    assert [(m.author, m.ts, m.text) for m in badge.messages] == [
        ("Ann Lee", "2024-01-02T09:30:00+00:00",
         "Hold the badge for two seconds; the reader is slow since the update.")]
    html = chunks["mail/html-only.msg"][0]
    assert [(m.author, m.text) for m in html.messages] == [("Bob Stone", "Guest wifi: kestrel&guest")]


def test_split_mbox_keeps_every_byte_of_each_message():
    data = (b"From a@x Mon Jan  1 10:00:00 2024\r\nSubject: one\r\n\r\nbody \xff\r\n\r\n"
            b"From b@x Mon Jan  1 11:00:00 2024\r\nSubject: two\r\n\r\n>>From here, one escape level less\r\n")
    assert split_mbox(data) == [b"Subject: one\r\n\r\nbody \xff\r\n\r\n",
                                b"Subject: two\r\n\r\n>From here, one escape level less\r\n"]
