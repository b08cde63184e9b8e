"""Answer types: the question form gives the type; quotes with and without it (rag.answers)."""

from __future__ import annotations

import pytest

from rag.answers.focus import focus_coverage, focus_terms, named_things
from rag.answers.parts import question_parts
from rag.answers.types import AnswerType, contains_type, expected_type, type_match

T = AnswerType


@pytest.mark.parametrize(("question", "kind"), [
    ("How many read replicas does tracking-db have?", T.NUMBER),
    ("What is the rate limit for write endpoints?", T.NUMBER),
    ("What on-call allowance are Cloud Platform engineers paid?", T.NUMBER),  # money paid: an amount
    ("Which team is in charge of the Twilio account?", T.PERSON),  # "charge" is no amount here
    ("How long do we keep GPS pings in Snowflake?", T.DURATION),
    ("How many days of annual leave do engineers get?", T.DURATION),
    ("What is the retention period for application logs?", T.DURATION),
    ("Which version of Postgres does tracking-db run?", T.VERSION),
    ("When was the Manager cluster destroyed?", T.DATE),
    ("What time does the anonymise job run?", T.DATE),
    ("Where are the Vault policies kept?", T.PLACE),
    ("Who is the incident commander for a SEV1?", T.PERSON),
    ("Is Ledgerline on its own RDS instance?", T.POLARITY),
    ("Am I allowed to bring my dog to the office?", T.POLARITY),
    ("What are the incident severity levels?", T.LIST),
    ("What kinds of secrets does Vault hold?", T.LIST),
    ("How do I deploy a service to production?", T.STEPS),
    ("What are the steps to rotate the Twilio token?", T.STEPS),
    ("How do I find which version of the app a driver has?", T.STEPS),  # earliest form wins
    ("Someone's AWS access keys have leaked. What do I do?", T.STEPS),
    ("What should we do when the disk is full?", T.STEPS),
    # chat asks for a way in yes-no form: the answer is the way
    ("Does anyone know how I can check which program is using a port?", T.STEPS),
    ("Is there a way to restore the MBR from a live USB?", T.STEPS),
    ("can you explain how you added a ppa?", T.STEPS),
    ("Is there a staging environment for Ledgerline?", T.POLARITY),
    ("Does anyone want my irssi script?", T.POLARITY),
    ("Who knows about our Stripe webhooks?", None),  # people to ask: the expert ranking answers
    ("Who's the right person for questions about Rtools44?", None),
    ("Why did the deploy fail on Friday?", None),
    ("How does the route-solver queue work?", None),
    ("When do I page the secondary on-call?", None),  # a condition, not a date
    # "where" and "who is" after a noun are relative pronouns: they ask nothing
    ("What fixed the outage where the hub said the pod quota was exhausted?", None),
    ("Why does the customer who is on the old plan get two invoices?", None),
    ("What changes for where user workloads run?", T.PLACE),
    ("Tell me who owns the billing job", T.PERSON),
    ("Which team is on call, and who is the lead?", T.PERSON),
])
def test_expected_type_from_the_question_form(question: str, kind: AnswerType | None) -> None:
    assert expected_type(question) == kind


# (type, a quote that answers, an on-topic quote that does not)
CASES = [
    (T.NUMBER, "There is one read replica, kestrel-prod-tracking-db-ro.", "The replica is used by the admin UI."),
    (T.DURATION, "GPS pings are kept for 13 months in Snowflake.", "GPS pings are stored in Snowflake ANALYTICS."),
    (T.DURATION, "The anonymise job runs nightly.", "The anonymise job replaces recipient fields."),
    (T.VERSION, "It is PostgreSQL 15.4 on RDS.", "It is PostgreSQL on RDS."),
    (T.DATE, "The cluster was destroyed on 5 May 2021.", "The cluster was destroyed by a terraform command."),
    (T.PLACE, "Policies are in kestrel-infra/vault/policies/.", "Policies are written by the Security team."),
    (T.PERSON, "The incident commander is Oliver Grant.", "Incident command starts when a SEV1 is declared."),
    (T.POLARITY, "Dogs are not allowed in the office.", "The office has a kitchen."),
    (T.LIST, "Vault holds API keys, webhook secrets and SSH keys.", "Vault holds secrets."),
    (T.STEPS, "Run `kubectl rollout restart deployment/notify-svc`.", "notify-svc sends SMS to recipients."),
    # chat: a reply that addresses the asker, then a shell command or a directive
    (T.STEPS, "jk_: sudo apt-get install build-essential", "jk_: the compiler is in that package"),
    (T.STEPS, "bob, try booting with nomodeset", "bob, that card is well known"),
    (T.STEPS, "you need to enable the universe repository", "the universe repository is big"),
    # a bare nick then a command with an option or a pipe; "you can <verb>"; "try ..."
    (T.STEPS, "bonhoffer netstat -ln | grep 3000", "bonhoffer that port is in use"),
    (T.STEPS, "Necrosan_, you can install a program called bum", "Necrosan_, bum is a program"),
    (T.STEPS, "try the alternate CD", "the alternate CD is on the mirror"),
]


@pytest.mark.parametrize(("kind", "positive", "negative"), CASES)
def test_quote_contains_the_type_or_not(kind: AnswerType, positive: str, negative: str) -> None:
    assert contains_type(kind, positive)
    assert not contains_type(kind, negative)


@pytest.mark.parametrize(("kind", "text"), [
    (T.DURATION, "Follow the steps as mentioned in the blog."),  # "as" is no "a s[econd]"
    (T.DURATION, "These are the ones we keep."),
    (T.DATE, "We made 10 decisions at the offsite."),  # "dec..." is no December
    (T.DATE, "Mark 2 items as done."),
    (T.PLACE, "It was settled in the end."),  # "in" + a lower-case word is no proper name
])
def test_words_that_only_look_like_a_type(kind: AnswerType, text: str) -> None:
    assert not contains_type(kind, text)


@pytest.mark.parametrize(("kind", "text"), [
    (T.DURATION, "Backups are kept for 5-10 days."), (T.DURATION, "It takes 3 to 5 weeks."),
    (T.DURATION, "The timeout is 30s."), (T.DURATION, "It takes half an hour."),
    (T.DATE, "Destroyed on 3 Sept 2020."), (T.DATE, "Since Jan 2024."), (T.PLACE, "It lives in Vault."),
])
def test_the_type_in_its_usual_forms(kind: AnswerType, text: str) -> None:
    assert contains_type(kind, text)


def test_the_questions_own_word_is_no_answer_of_its_type() -> None:
    # "annually" is a duration, but it is the question's word "annual", not an answer to "how many days".
    focus = ["annual"]
    assert type_match(T.DURATION, "Incident response exercises are run at least annually.", focus=focus) == 0.0
    assert type_match(T.DURATION, "Engineers get 25 days of annual leave a year.", focus=focus) == 1.0


def test_a_list_item_is_a_list_and_a_step_by_its_structure() -> None:
    assert contains_type(T.LIST, "SEV1 customer-facing outage", is_item=True)
    assert contains_type(T.STEPS, "the PR is approved by Payments", is_item=True)
    assert not contains_type(T.LIST, "SEV1 customer-facing outage")


def test_type_must_be_near_the_focus() -> None:
    focus = ["gps", "snowflake"]
    near = "GPS pings in Snowflake are kept for 13 months."
    far = ("GPS pings come from the driver app and are written to the tracking database by the ingestion "
           "pipeline, which batches them every few minutes before the Snowpipe loader picks the files up, and "
           "invoices are kept for 7 years.")
    assert type_match(T.DURATION, near, focus=focus) == 1.0
    assert type_match(T.DURATION, far, focus=focus) == 0.6  # a duration, but 7 years is about invoices
    assert type_match(T.DURATION, "Invoices are kept for 7 years.", focus=focus) == 0.2
    assert type_match(T.DURATION, "Invoices are kept for 7 years.", focus=focus, context="GPS retention") == 0.6
    assert type_match(T.DURATION, "GPS pings go to Snowflake.", focus=focus) == 0.0
    assert type_match(None, "anything at all", focus=focus) == 1.0


def test_a_thread_reply_is_near_the_focus_of_the_question_it_answers() -> None:
    # "jk_: 2GB is all you need" answers "how much swap for 4GB of RAM?" without repeating "swap".
    focus, asked = ["swap"], "how much swap should I allocate with 4gbs of RAM?"
    assert type_match(T.NUMBER, "jk_: 2GB is all you need really", focus=focus, context=asked, reply=True) == 1.0
    assert type_match(T.NUMBER, "jk_: 2GB is all you need really", focus=focus, context=asked) == 0.6
    assert type_match(T.NUMBER, "jk_: that is plenty", focus=focus, context=asked, reply=True) == 0.0
    assert type_match(T.NUMBER, "jk_: 2GB is all you need", focus=focus, context="my wifi drops", reply=True) == 0.2


def test_a_chat_reply_answers_a_way_or_a_yes_no_question_in_any_form_unless_it_asks_back() -> None:
    # Chat answers "how can I add nm-applet ...?" with a menu path, a bot command or a package name: none
    # is a step by QUOTE_RULES, each is an answer by the thread's structure. A reply that asks back is not.
    focus, asked = ["nm-applet"], "how can I add nm-applet to my system folder?"
    for reply in ("ogre: system->preferences->main menu", "!info network-manager-gnome", "dans guardian and squid"):
        assert type_match(T.STEPS, reply, focus=focus, context=asked, reply=True) == 1.0, reply
        assert type_match(T.STEPS, reply, focus=focus, context=asked) < 1.0, reply  # not a reply: no structure
    assert type_match(T.STEPS, "ogre: which panel?", focus=focus, context=asked, reply=True) == 0.0
    assert type_match(T.POLARITY, "i believe you have to download the deb", focus=["skype"],
                      context="Can I install skype through synaptic?", reply=True) == 1.0
    # a reply to another question (the focus is not in what it replies to) gets no such credit
    assert type_match(T.STEPS, "ogre: system->preferences->main menu", focus=focus, context="my wifi drops",
                      reply=True) == 0.0


def test_a_stopwords_possessive_is_no_focus() -> None:
    # "Someone's AWS access keys have leaked": the question is about the keys, not about "someone"
    idf = {"someon": 9.0, "someone": 9.0, "leak": 3.0}.get
    focus = focus_terms("Someone's AWS access keys have leaked. What do I do?", lambda t: idf(t) or 1.0)
    assert "someone" not in focus and "someon" not in focus
    assert focus[0] == "leak"


def test_focus_is_rare_terms_and_named_things() -> None:
    idf = {"rotat": 1.0, "twilio": 5.0, "token": 2.0, "api": 1.5}.get
    focus = focus_terms("How do we rotate the Twilio API token?", lambda t: idf(t) or 0.5)
    assert focus[:2] == ["twilio", "token"]
    assert "api" in focus  # an all-capitals identifier
    assert named_things("Why did PLAT-702 break notify-svc in Kestrel?") == ["plat-702", "kestrel"]
    assert focus_coverage(["twilio", "token"], ["Rotate the token in Vault."]) == 0.5
    assert focus_coverage([], ["x"]) == 1.0


def test_two_part_questions_split_once() -> None:
    assert question_parts("What are the incident severity levels and who is the incident commander?") == [
        "What are the incident severity levels?", "Who is the incident commander?"]
    assert question_parts("After a few years here, can I take a sabbatical, and how long can it be?") == [
        "After a few years here, can I take a sabbatical?", "How long can it be?"]
    assert question_parts("How do I deploy and roll back a service?") == ["How do I deploy and roll back a service?"]
