"""Quote shapes for pages and the quote checks behind abstention (rag.answers.quotes, rag.answers.checks)."""

from __future__ import annotations

from pathlib import Path

import rag.abstain
from rag.abstain import AbstainModel, Signals
from rag.answers.checks import check_quotes
from rag.answers.parts import uncovered_parts
from rag.answers.quotes import blocks, shape, shape_all
from rag.generators.base import Quote
from rag.generators.extractive import ExtractiveGenerator
from rag.types import Chunk, Hit, Message

STEPS = """## Rotating a static secret

Rotation is done by the owning team.

1. Create the new value at the provider. Keep the old one valid.
2. Write it to Vault:
   ```bash
   vault kv patch secret/kestrel/prod/notify-svc twilio_auth_token=<new>
   ```
3. Restart the service with `kubectl rollout restart`.
4. Revoke the old value at the provider.

Ask in #security if unsure."""

TABLE_TOP = """## Actions

| # | Action | Owner | Ticket |
|---|---|---|---|
| 1 | Shorten the escalation to 10 minutes | Oliver Grant | SRE-301 |
| 2 | Add DND checks to the on-call checklist | Fatima Zahra | SRE-302 |"""

TABLE_REST = """| 5 | `notify-svc` reloads the Twilio token when the Vault file changes | Tomasz Wilk | PLAT-702 |
| 6 | Rotation reminders as Jira tickets | Mei Lin Chen | SEC-219 |"""


def _chunk(text: str, *, index: int = 0, doc: str = "d1", section: str = "", title: str = "Vault") -> Chunk:
    return Chunk(chunk_id=f"{doc}-{index}", doc_id=doc, index=index, text=text, section=section, title=title,
                 kind="wiki", source=f"wiki/{doc}.md")


def _quote(chunk: Chunk, text: str) -> Quote:
    return Quote(hit=Hit(chunk=chunk, score=1.0), text=text, authors=("A",))


def test_blocks_keep_a_numbered_list_with_its_code_as_one_block() -> None:
    kinds = [(b.kind, len(b.lines)) for b in blocks(STEPS)]
    assert kinds == [("para", 1), ("list", 4), ("para", 1)]
    assert "vault kv patch" in blocks(STEPS)[1].lines[1]


def test_a_steps_question_gets_the_whole_list_in_order() -> None:
    chunk = _chunk(STEPS)
    restart = "Restart the service with `kubectl rollout restart`."
    shaped = shape("How do I rotate the Twilio token?", _quote(chunk, restart))
    lines = shaped.text.splitlines()
    assert lines[0].startswith("1. Create the new value")
    assert [ln[:2] for ln in lines if ln[:1].isdigit()] == ["1.", "2.", "3.", "4."]
    assert "vault kv patch" in shaped.text
    # a question that asks for no list keeps the single sentence
    why = shape("Why do we restart the service?", _quote(chunk, "Restart the service with `kubectl rollout restart`."))
    assert why.text == "Restart the service with `kubectl rollout restart`."


def test_a_table_row_comes_with_its_header_even_when_the_chunker_cut_the_table() -> None:
    top, rest = _chunk(TABLE_TOP, index=3, section="Actions"), _chunk(TABLE_REST, index=4, section="Actions")
    row = "| 2 | Add DND checks to the on-call checklist | Fatima Zahra | SRE-302 |"
    assert shape("Who adds the DND checks?", _quote(top, row)).text == "| # | Action | Owner | Ticket |\n" + row
    cut_row = TABLE_REST.splitlines()[0]
    shaped = shape("Who makes notify-svc reload the token?", _quote(rest, cut_row), [top, rest])
    assert shaped.text.splitlines() == ["| # | Action | Owner | Ticket |", cut_row]
    assert shape("Who makes notify-svc reload the token?", _quote(rest, cut_row)).text == cut_row  # no header known


def test_an_announcing_sentence_pulls_in_what_follows() -> None:
    intro = _chunk("# Incident severity levels\n\nWe use three severities. Pick the higher one.", title="Severity")
    sections = [_chunk(f"## SEV{i}: {name}\n\n{desc}. More text here.", index=i, section=f"SEV{i}: {name}",
                       title="Severity")
                for i, (name, desc) in enumerate([("critical", "Customer-facing outage"), ("major", "Degraded"),
                                                  ("minor", "Internal only"), ("x", "Not a level")], start=1)]
    shaped = shape("What are the incident severity levels?", _quote(intro, "We use three severities."),
                   [intro, *sections])
    assert shaped.text.splitlines() == ["We use three severities.", "SEV1: critical: Customer-facing outage.",
                                        "SEV2: major: Degraded.", "SEV3: minor: Internal only."]
    inline = _chunk("The checklist is as follows:\n\n- Page the IC\n- Open a channel")
    assert shape("What happens first?", _quote(inline, "The checklist is as follows:")).text.endswith(
        "- Page the IC\n- Open a channel")


def test_two_quotes_of_one_list_become_one() -> None:
    chunk = _chunk(STEPS)
    out = shape_all("How do I rotate a secret?", [_quote(chunk, "Revoke the old value at the provider."),
                                                  _quote(chunk, "Restart the service with `kubectl rollout restart`.")])
    assert len(out) == 1 and out[0].text.startswith("1. Create")


def test_generator_quotes_the_steps_whole() -> None:
    hits = [Hit(chunk=_chunk(STEPS, section="Rotating a static secret"), score=1.0)]
    text = ExtractiveGenerator(lambda _t: 1.0).generate("How do I rotate a static secret in Vault?", hits).text
    assert text.index("1. Create") < text.index("2. Write") < text.index("3. Restart") < text.index("4. Revoke")


JOINERS = """## Access

* Protect against accidentally pushing secrets to GitHub, using [git-secrets]

```bash
git secrets --install ~/.git-templates/git-secrets
```

* Github access
  * New starter to login using SSO

Once appointed, the lead posts this message in the incident channel:

```
I am declaring an incident because [reason].
```

Again, use these words."""


def test_commands_come_with_the_item_or_the_sentence_that_introduces_them() -> None:
    assert [b.kind for b in blocks(JOINERS)] == ["list", "para", "code", "para"]
    chunk = _chunk(JOINERS, title="Joiners guide", section="Access")
    item = "Protect against accidentally pushing secrets to GitHub, using [git-secrets]"
    # a steps question: the list is quoted whole, the commands of its item included
    shaped = shape("How do I stop pushing secrets to GitHub?", _quote(chunk, item))
    assert shaped.text.startswith("* Protect against") and "git secrets --install" in shaped.text
    assert shape("Why do we use git-secrets?", _quote(chunk, item)).text == item  # not a steps question
    # an announcing sentence followed by a code block pulls in the block (its fence lines included)
    intro = "Once appointed, the lead posts this message in the incident channel:"
    assert "I am declaring an incident because [reason]." in shape("How do I declare an incident?",
                                                                   _quote(chunk, intro)).text


def test_a_rare_term_only_in_an_unquoted_part_does_not_count_as_covered() -> None:
    chunk = _chunk("Tokens are rotated every 90 days by the owning team. The Mapbox key is stored elsewhere.",
                   title="Secrets")
    quoted = _quote(chunk, "Tokens are rotated every 90 days by the owning team.")
    idf = {"mapbox": 6.0, "token": 1.0, "rotat": 1.0}.get
    checks = check_quotes("How often is the Mapbox token rotated?", [quoted], lambda t: idf(t) or 0.5)
    assert checks.focus == 0.5  # focus: mapbox, token; "mapbox" is in the passage, not in the quote
    both = check_quotes("How often is the Mapbox token rotated?", [quoted, _quote(chunk, "The Mapbox key is "
                                                                                   "stored elsewhere.")],
                        lambda t: idf(t) or 0.5)
    assert both.focus == 1.0
    assert checks.type_match == 0.2  # '90 days', but not near the rarest focus term, 'mapbox'
    assert both.type_match == 0.2
    mapbox = _quote(chunk, "Mapbox tokens are rotated every 90 days.")
    assert check_quotes("How often is the Mapbox token rotated?", [mapbox], lambda t: idf(t) or 0.5).type_match == 1.0
    assert check_quotes("How often is the Mapbox token rotated?", [], lambda t: 1.0).focus == 0.0


def test_a_thread_reply_is_checked_against_the_question_it_replies_to() -> None:
    # IRC replies rarely repeat the question's words: "jk_: sudo apt-get install ..." answers jk_'s question
    # about a Broadcom driver without naming it. The question the reply answers is its context.
    opener = Message(author="jk_", text="how do I get my broadcom wifi card working?", id="1", role="question")
    reply = Message(author="ikonia", text="jk_: sudo apt-get install bcmwl-kernel-source", id="2", reply_to="1",
                    role="answer", to="jk_")
    chunk = Chunk(chunk_id="t-0", doc_id="t", index=0, text="...", title="#ubuntu 2008-04-30", kind="thread",
                  source="threads/t.json", messages=(opener, reply))
    quote = Quote(hit=Hit(chunk=chunk, score=1.0), text=reply.text, authors=("ikonia",), message=reply)
    idf = {"broadcom": 6.0, "wifi": 3.0, "card": 2.0}.get
    checks = check_quotes("How do I get a Broadcom wifi card working?", [quote], lambda t: idf(t) or 0.5)
    assert checks.type_match == 1.0  # a shell command is a step, and the focus is in the question replied to
    assert checks.focus == 1.0
    # the same words as a page quote have no such context: no focus term anywhere
    page = _quote(_chunk("sudo apt-get install bcmwl-kernel-source", title="Packages"), reply.text)
    alone = check_quotes("How do I get a Broadcom wifi card working?", [page], lambda t: idf(t) or 0.5)
    assert alone.type_match == 0.2 and alone.focus == 0.0
    # a reply in a thread about something else does not inherit this question's focus
    other = chunk.model_copy(update={"messages": (opener.model_copy(update={"text": "how do I mount a usb disk?"}),
                                                  reply)})
    elsewhere = Quote(hit=Hit(chunk=other, score=1.0), text=reply.text, authors=("ikonia",), message=reply)
    assert check_quotes("How do I get a Broadcom wifi card working?", [elsewhere],
                        lambda t: idf(t) or 0.5).focus == 0.0


def test_a_two_part_question_with_one_part_covered_names_the_other() -> None:
    levels = _chunk("We use three severities: SEV1, SEV2 and SEV3.", title="Incident severity levels",
                    section="Severity levels")
    quotes = [_quote(levels, "We use three severities: SEV1, SEV2 and SEV3.")]
    idf = lambda _t: 1.0  # noqa: E731 - a flat IDF: focus is then every content term in order
    question = "What are the incident severity levels and which Kafka topics does the pipeline publish to?"
    assert uncovered_parts(question, quotes, idf) == ["Which Kafka topics does the pipeline publish to?"]
    both = "What are the incident severity levels and who decides the severity?"
    decides = _chunk("The incident commander decides the severity.", index=1, section="Roles")
    assert uncovered_parts(both, [*quotes, _quote(decides, "The incident commander decides the severity.")],
                           idf) == []
    # neither part covered: the whole question is unanswered, not a part of it
    assert uncovered_parts("Which Kafka topics exist and who owns Kafka?", quotes, idf) == []
    assert uncovered_parts("What are the incident severity levels?", [], idf) == []


def test_the_loco_candidate_model_abstains_when_the_rare_term_is_only_in_an_unquoted_part() -> None:
    # The leave-one-corpus-out candidate (rag/abstain_model_loco.json, not the committed default: README,
    # "Which model is committed") is the one that uses the quote checks; the default gives them weight 0.
    chunk = _chunk("Tokens are rotated every 90 days by the owning team. The Mapbox key is stored elsewhere.",
                   title="Secrets")
    idf = {"mapbox": 6.0, "token": 1.0, "rotat": 1.0}.get
    question = "How often is the Mapbox token rotated?"
    model = AbstainModel.load(Path(rag.abstain.__file__).with_name("abstain_model_loco.json"))
    # retrieval signals of an on-topic passage (a devset how-to's values), then the quote checks
    retrieval = {"dense_top": 0.63, "coverage": 0.6, "agree": 1.0, "gap": 0.06, "bm25_top": 0.46, "rare": 0.5}
    for quote, answers in [("Tokens are rotated every 90 days by the owning team.", False),
                           ("Mapbox tokens are rotated every 90 days.", True)]:
        c = check_quotes(question, [_quote(chunk, quote)], lambda t: idf(t) or 0.5)
        s = Signals(**retrieval, type_match=c.type_match, focus=c.focus, type_next=c.type_next)
        assert (model.confidence(s) >= model.threshold) is answers, (quote, model.confidence(s))


LEAD = ("## Why month-end ran late\n\nThe month-end run for Ledgerline started at 01:00 UTC. "
        "The month-end run was killed at 05:00 UTC by its four-hour timeout. "
        "The month-end run had rendered 263 of 371 Ledgerline customers by then. "
        "The month-end run was restarted by hand at 09:00 UTC and finished at 11:40 UTC.")
OTHER = "## Invoices\n\nLedgerline invoices are rendered by the month-end run as PDF files."


def test_the_best_passage_may_give_more_than_two_quotes() -> None:
    # Four sentences of the best passage answer "why"; the weaker page is about the same run. The lead
    # passage's cap is LEAD_CHUNK_QUOTES, any other passage's two.
    lead, other = _chunk(LEAD, doc="retro", title="Month-end timeout"), _chunk(OTHER, doc="wiki", title="Invoices")
    gen = ExtractiveGenerator(lambda _t: 1.0)
    chosen = gen.select("Why did the Ledgerline month-end run finish late?",
                        [Hit(chunk=lead, score=1.0), Hit(chunk=other, score=0.9)], max_sentences=5)
    from_lead = [q for q in chosen if q.hit.chunk.doc_id == "retro"]
    assert len(from_lead) == 4
    assert [q.position for q in from_lead] == sorted(q.position for q in from_lead)


def test_a_list_cut_by_the_chunker_is_joined_with_its_items_in_the_chunk_before() -> None:
    # The splitter cut "4. Do a dry-run of an incident." after its marker (devset: the on-call runbook).
    head = _chunk("## Where do I start?\n\n1. Do two rotations on in-hours second line.\n"
                  "2. Get production access to supported services.\n3. Get access to our on-call tools.\n4.",
                  index=3, section="Where do I start?")
    tail = _chunk("Do a dry-run of an incident.\n5. Get on the on-call rota.\n6. Log your hours.",
                  index=4, section="Where do I start?")
    shaped = shape("I want to join the on-call rota. What are the steps?", _quote(tail, "Get on the on-call rota."),
                   known=[head, tail])
    assert shaped.text.splitlines() == [
        "1. Do two rotations on in-hours second line.", "2. Get production access to supported services.",
        "3. Get access to our on-call tools.", "4. Do a dry-run of an incident.", "5. Get on the on-call rota.",
        "6. Log your hours."]


def test_a_list_of_the_next_section_is_not_joined_with_the_list_before() -> None:
    before = _chunk("## Not expected\n\n* Take heroic actions.\n* Know every service.", index=2,
                    section="Not expected")
    own = _chunk("## Where do I start?\n\n1. Do two rotations.\n2. Get on the rota.", index=3,
                 section="Where do I start?")
    shaped = shape("What are the steps to start?", _quote(own, "Get on the rota."), known=[before, own])
    assert shaped.text.splitlines() == ["1. Do two rotations.", "2. Get on the rota."]


def test_a_list_quoted_whole_is_a_steps_answer_by_its_structure() -> None:
    # "Do two rotations ..." starts with no verb the steps rule knows; the shaped quote is the whole list.
    chunk = _chunk("## Joining the on-call rota\n\n1. Do two rotations on second line.\n"
                   "2. Do a dry-run of an incident.", section="Joining the on-call rota", title="Going on call")
    shaped = shape("What are the steps to join the on-call rota?", _quote(chunk, "Do a dry-run of an incident."))
    assert shaped.text.startswith("1. Do two rotations")
    idf = {"rota": 5.0, "join": 2.0}.get
    assert check_quotes("What are the steps to join the on-call rota?", [shaped],
                        lambda t: idf(t) or 0.5).type_match == 1.0


def test_a_quote_keeps_the_sentence_that_goes_on_about_it() -> None:
    # devset: "there is now a new toolchain for R for Windows, Rtools44." alone drops what its author said next.
    text = ("There is now a new toolchain for R for Windows, Rtools44. It is now used by R-devel and is intended "
            "for R 4.4.0. Packages are built on the CRAN machines every night. These are the packages that fail:")
    chunk = _chunk(text, doc="news", title="New toolchain")
    gen = ExtractiveGenerator(lambda _t: 1.0)
    chosen = gen.select("Which toolchain is there for R on Windows?", [Hit(chunk=chunk, score=1.0)], max_sentences=1)
    assert [q.text for q in chosen] == ["There is now a new toolchain for R for Windows, Rtools44. It is now used "
                                        "by R-devel and is intended for R 4.4.0."]
    # a following sentence that starts anew, or that announces what is not quoted, is not taken
    night = gen.select("When are packages built on the CRAN machines?", [Hit(chunk=chunk, score=1.0)],
                       max_sentences=1)
    assert [q.text for q in night] == ["Packages are built on the CRAN machines every night."]


def _thread(doc: str, question: str, reply: str) -> Hit:
    q = Message(author="asker", text=question, id="1", role="question")
    r = Message(author=f"helper-{doc}", text=f"asker: {reply}", id="2", reply_to="1", role="answer", to="asker")
    return Hit(chunk=Chunk(chunk_id=f"{doc}-0", doc_id=doc, index=0, text="...", title="#fedora", kind="thread",
                           source=f"threads/{doc}.json", messages=(q, r)), score=1.0)


I686_QUESTION = "Tests fail on i686 after the FlexiBLAS switch: what is the workaround?"


def _i686_generator() -> ExtractiveGenerator:
    idf = {"flexiblas": 6.0, "i686": 6.0, "test": 2.0, "fail": 2.0, "workaround": 3.0}.get
    return ExtractiveGenerator(lambda t: idf(t) or 0.5)


def _i686_lead() -> Hit:
    return _thread("t1", "tests fail after the flexiblas switch, any workaround?",
                   "switch to the serial openblas backend of flexiblas, that fixes the failing tests")


def test_a_second_thread_that_answers_about_as_well_is_quoted_too() -> None:
    gen, question, first = _i686_generator(), I686_QUESTION, _i686_lead()
    second = _thread("t2", "my tests fail on i686 with flexiblas, workaround?",
                     "on i686 export FLEXIBLAS=netlib in the check section and the tests pass")
    docs = {q.hit.chunk.doc_id for q in gen.select(question, [first, second])}
    assert docs == {"t1", "t2"}
    weak = _thread("t3", "which editor do you use?", "emacs, for the tests too")
    assert {q.hit.chunk.doc_id for q in gen.select(question, [first, weak])} == {"t1"}


def test_a_second_thread_that_holds_the_focus_the_lead_lacks_is_quoted_too() -> None:
    gen, question, lead = _i686_generator(), I686_QUESTION, _i686_lead()
    # scores under 0.9 of the lead's best quote (not a runner-up by score) but above the 0.7 floor
    on_i686 = _thread("t2", "package tests fail since the flexiblas change, a workaround",
                      "it breaks on i686 only: export FLEXIBLAS=netlib in the check section")
    assert {q.hit.chunk.doc_id for q in gen.select(question, [lead, on_i686])} == {"t1", "t2"}
    elsewhere = _thread("t2", "package tests fail since the flexiblas change, a workaround",
                        "it breaks on arm64 only: export FLEXIBLAS=netlib in the check section")
    assert {q.hit.chunk.doc_id for q in gen.select(question, [lead, elsewhere])} == {"t1"}
    weak = _thread("t4", "a package breaks on koschei", "it breaks on i686 only")  # under the floor
    assert {q.hit.chunk.doc_id for q in gen.select(question, [lead, weak])} == {"t1"}


def test_a_thread_whose_request_asks_the_rarest_focus_is_cited_with_its_replies() -> None:
    # The replies to a request share no word with the question ("I'm on it."): only the request says what they
    # answer. The lead thread never names the question's rarest term; that thread asks for it.
    idf = {"provenpackager": 8.0, "fedora": 2.0, "rebuild": 2.0, "batch": 4.0}.get
    gen = ExtractiveGenerator(lambda t: idf(t) or 0.5)
    question = "Who can I ask to rebuild a batch of Fedora packages that need provenpackager rights?"
    lead = _thread("t1", "rebuild plans for the new Fedora release?",
                   "I rebuild the Fedora packages in a side tag, a batch each day")
    request = _thread("t2", "could somebody with provenpackager powers bump these and rebuild them?",
                      "I'm on it.")
    chosen = gen.select(question, [lead, request])
    assert {q.hit.chunk.doc_id for q in chosen} == {"t1", "t2"}
    assert [q.text for q in chosen if q.hit.chunk.doc_id == "t2"] == ["asker: I'm on it."]
    # a thread that only mentions the term in a reply, under the floor, or one asking about something else
    other = _thread("t3", "which editor do you use on Fedora?", "emacs")
    assert {q.hit.chunk.doc_id for q in gen.select(question, [lead, other])} == {"t1"}
    # the lead that names the rarest term keeps the answer to itself
    named = _thread("t1", "rebuild plans for the new Fedora release?",
                    "I have provenpackager rights: I rebuild them in a side tag, a batch each day")
    assert {q.hit.chunk.doc_id for q in gen.select(question, [named, request])} == {"t1"}


def test_who_knows_form_words_are_not_the_rarest_focus() -> None:
    from rag.answers.focus import rarest_focus

    idf = {"person": 9.0, "rtools44": 5.0, "toolchain": 4.0}.get
    assert rarest_focus("Who's the right person for questions about the new Rtools44 toolchain?",
                        lambda t: idf(t) or 0.5) == "rtools44"
    assert rarest_focus("Who is the right person?", lambda t: idf(t) or 0.5) == ""
