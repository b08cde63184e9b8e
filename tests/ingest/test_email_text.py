"""Mail as text: e-mail and news articles saved as .txt, and the attribution lines ("On DATE, X wrote:") that
are dropped with the quote they introduce."""

from __future__ import annotations

import pytest

from ingest.loaders.mailtext import own_words
from ingest.pipeline import ingest
from tests.ingest.helpers import by_source, stored_chunks, thread_messages, write

NEWS = """\
Path: news.x.org!not-for-mail
From: Ann Lee <ann@x.org>
Newsgroups: kestrel.ops.build
Subject: Disk quota on the build hosts
Date: Mon, 1 Jan 2024 10:00:00 +0000
Organization: Kestrel Logistics
Message-ID: <n1@news.x.org>
Lines: 2

The build hosts hit their disk quota every Monday.
Who owns the cleanup job?
"""
FOLLOWUP = """\
Path: news.x.org!not-for-mail
From: Bob Stone <bob@x.org>
Newsgroups: kestrel.ops.build
Subject: Re: Disk quota on the build hosts
Date: Mon, 1 Jan 2024 12:00:00 +0000
Message-ID: <n2@news.x.org>
References: <n1@news.x.org>
Lines: 4

In article <n1@news.x.org>, Ann Lee <ann@x.org> writes:
> The build hosts hit their disk quota every Monday.

Platform owns it; the cron runs at 03:00 on Sundays.
"""


def test_news_articles_saved_as_txt_are_read_as_mail(corpus, settings):
    write(corpus, "news/quota.txt", NEWS)
    write(corpus, "news/quota-followup.txt", FOLLOWUP)
    write(corpus, "notes/meeting.txt", "From: the notes of the ops meeting\n\nWe agreed to move the backups.\n")

    assert ingest(corpus, settings).failed == []

    threads = thread_messages(settings)
    assert [(m.author, m.ts, m.id, m.reply_to, m.text) for m in threads["news/quota.txt"]] == [
        ("Ann Lee", "2024-01-01T10:00:00+00:00", "n1@news.x.org", None,
         "The build hosts hit their disk quota every Monday.\nWho owns the cleanup job?"),
        ("Bob Stone", "2024-01-01T12:00:00+00:00", "n2@news.x.org", "n1@news.x.org",
         "Platform owns it; the cron runs at 03:00 on Sundays.")]
    chunks = by_source(stored_chunks(settings))
    assert chunks["news/quota.txt"][0].kind == "thread" and chunks["notes/meeting.txt"][0].kind == "wiki"


ATTRIBUTIONS = """\
From ann@x.org Mon Jan  1 10:00:00 2024
From: Ann Lee <ann@x.org>
Subject: Laptop refresh
Message-ID: <l1@x.org>
Date: Mon, 1 Jan 2024 10:00:00 +0000

Laptops older than four years are replaced in March.

From bob@x.org Mon Jan  1 11:00:00 2024
From: Bob Stone <bob@x.org>
Subject: Re: Laptop refresh
Message-ID: <l2@x.org>
In-Reply-To: <l1@x.org>
Date: Mon, 1 Jan 2024 11:00:00 +0000

Does that include the warehouse tablets?

On Mon, 1 Jan 2024 at 10:00, Ann Lee
<ann@x.org> wrote:
> Laptops older than four years are replaced in March.

From cara@x.org Mon Jan  1 12:00:00 2024
From: Cara Diaz <cara@x.org>
Subject: Re: Laptop refresh
Message-ID: <l3@x.org>
In-Reply-To: <l2@x.org>
Date: Mon, 1 Jan 2024 12:00:00 +0000

Le lun. 1 janv. 2024 à 11:00, Bob Stone <bob@x.org> a écrit :
> Does that include the warehouse tablets?

No, tablets have their own budget. The vendor wrote:
the tablets are covered until 2026.

-----Original Message-----
From: Bob Stone <bob@x.org>
Sent: Monday, January 1, 2024 11:00
To: Cara Diaz <cara@x.org>
Subject: Re: Laptop refresh

Does that include the warehouse tablets?

From dana@x.org Mon Jan  1 13:00:00 2024
From: Dana Fox <dana@x.org>
Subject: Re: Laptop refresh
Message-ID: <l4@x.org>
In-Reply-To: <l3@x.org>
Date: Mon, 1 Jan 2024 13:00:00 +0000

Good to know, I will tell the warehouse.

________________________________
From: Cara Diaz <cara@x.org>
Sent: Monday, January 1, 2024 12:00
To: Dana Fox <dana@x.org>
Subject: Re: Laptop refresh

No, tablets have their own budget.
"""


def test_attribution_lines_are_dropped_with_the_quote_they_introduce(corpus, settings):
    write(corpus, "mail/laptops.mbox", ATTRIBUTIONS)

    assert ingest(corpus, settings).failed == []

    msgs = thread_messages(settings)["mail/laptops.mbox#l1@x.org"]
    assert [(m.author, m.reply_to, m.text) for m in msgs] == [
        ("Ann Lee", None, "Laptops older than four years are replaced in March."),
        ("Bob Stone", "l1@x.org", "Does that include the warehouse tablets?"),
        # 'The vendor wrote:' introduces no quote: it is the sender's own line and stays.
        ("Cara Diaz", "l2@x.org", "No, tablets have their own budget. The vendor wrote:\n"
                                  "the tablets are covered until 2026."),
        ("Dana Fox", "l3@x.org", "Good to know, I will tell the warehouse.")]


@pytest.mark.parametrize("attribution", [
    "On Mon, Jan 1, 2024 at 10:00 AM Ann Lee <ann@x.org> wrote:",
    "On 01/01/2024 10:00, Ann Lee wrote:",
    "Ann Lee <ann@x.org> writes:",
    "Am 01.01.2024 um 10:00 schrieb Ann Lee <ann@x.org>:",
    "Op ma 1 jan. 2024 om 10:00 schreef Ann Lee <ann@x.org>:",
    "El lun, 1 ene 2024 a las 10:00, Ann Lee (<ann@x.org>) escribió:",
    "Il giorno lun 1 gen 2024 alle ore 10:00 Ann Lee <ann@x.org> ha scritto:"])
def test_attributions_in_several_languages_go_with_their_quote(attribution):
    body = f"Yes, the 10:00 slot works.\n\n{attribution}\n> Does 10:00 work for the review?\n"
    assert own_words(body) == "Yes, the 10:00 slot works."
    # Not followed by a quote, the same line is the sender's own text.
    assert own_words(f"{attribution}\nthe review moved to Tuesday.") == f"{attribution}\nthe review moved to Tuesday."
