"""Thread structure and roles (rag.threads.structure) and the thread credit rule (rag.threads.answer)."""

from __future__ import annotations

from rag.evidence import split_units
from rag.threads import annotate
from rag.threads.answer import CHAT_LINE, answer_units, asker, credit, replied_to
from rag.threads.structure import POST_WORDS
from rag.types import Message


def _msgs(*rows: tuple[str, str]) -> list[Message]:
    return [Message(author=a, text=t) for a, t in rows]


def test_nick_address_links_to_that_persons_latest_message() -> None:
    out = annotate(_msgs(
        ("jk_", "if i wanted to reinstall, can i save my settings?"),
        ("ikonia", "ubuntu is great"),
        ("x1250", "ikonia: not always"),
        ("ikonia", "jk_: thats quite tricky"),
        ("x1250", "jk_, back up your /home first"),  # comma form
        ("jdoe_laptop", "what about /etc?"),
        ("ikonia", "jdoe: /etc too"),  # the start of a nick, as people type it
    ))
    assert [m.id for m in out] == ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]
    assert out[2].reply_to == "m1" and out[2].to == "ikonia"
    assert out[3].reply_to == "m0" and out[3].to == "jk_"
    assert out[4].reply_to == "m0" and out[4].to == "jk_"
    assert out[6].reply_to == "m5" and out[6].to == "jdoe_laptop"


def test_unaddressed_message_replies_to_the_previous_speaker() -> None:
    out = annotate(_msgs(("ann", "How do I rotate the key?"), ("bob", "run rotate.sh"), ("bob", "then restart")))
    assert out[1].reply_to == "m0" and out[2].reply_to == "m0"


def test_explicit_links_win_over_addressing() -> None:
    msgs = [Message(author="ann", text="Is the VPN down?", id="a1"),
            Message(author="bob", text="cat: no idea", id="b1"),
            Message(author="cat", text="yes, since 9am", id="c1", reply_to="a1")]
    out = annotate(msgs)
    assert out[2].reply_to == "a1" and out[2].to == "ann" and out[2].role == "answer"
    assert out[1].reply_to == "a1"  # 'cat' has not spoken yet: the address names nobody earlier


def test_roles_question_answer_ack_bot_other() -> None:
    out = annotate(_msgs(
        ("ann", "how do i mount an ntfs drive?"),
        ("ubotu", "ntfs is a filesystem, see https://help.ubuntu.com/ntfs"),
        ("bob", "ann: sudo apt install ntfs-3g"),
        ("cat", "bob: does that still work on 8.04?"),
        ("ann", "bob: and then what, mount -t ntfs?"),
        ("bob", "ann: yes, mount -t ntfs-3g /dev/sdb1 /mnt"),
        ("ann", "bob: thanks, that worked"),
        ("ann", "my disk was old anyway"),
    ))
    assert [m.role for m in out] == ["question", "bot", "answer", "other", "question", "answer", "ack", "other"]


def test_bot_opener_does_not_make_the_bot_the_asker() -> None:
    out = annotate(_msgs(("ubottu", "factoid: ntfs"), ("ann", "how do i mount it?"), ("bob", "ann: mount -a")))
    assert [m.role for m in out] == ["bot", "question", "answer"]


def test_credit_weights_acknowledged_replies_up_and_ask_backs_down() -> None:
    out = annotate(_msgs(
        ("ann", "why does my laptop not power off?"),
        ("cef", "ann: which kernel?"),
        ("dan", "ann: add acpi=force to the kernel line in grub"),
        ("ann", "dan: thanks, that did it"),
    ))
    weights = credit(out)
    assert weights == {"m1": 0.5, "m2": 1.5}


def test_answer_units_never_include_the_askers_words() -> None:
    out = annotate(_msgs(("ann", "how do i rotate the twilio token quickly and safely?"),
                         ("ann", "the docs say rotate the twilio token quickly"),
                         ("bob", "ann: use the vault rotate job")))
    units = answer_units(out, split_units)
    assert [u.text for u in units] == ["ann: use the vault rotate job"]
    assert all(u.message.author == "bob" for u in units)


def test_an_opener_that_informs_is_a_post_quoted_and_credited_to_its_author() -> None:
    out = annotate(_msgs(
        ("diego", "Our Apple distribution certificate expired yesterday. We use fastlane match to renew it."),
        ("hannah", "diego: thanks for the heads up"),
    ))
    assert [m.role for m in out] == ["post", "answer"]
    units = answer_units(out, split_units)
    assert [u.message.author for u in units][:2] == ["diego", "diego"]
    assert credit(out)["m0"] == 1.0


def test_a_long_opener_is_a_post_but_its_questions_are_not_quoted() -> None:
    long_post = ("Dear all, the RStudio builds moved to a Copr repository this week. " * 6
                 + "Does anyone still need the old packages?")
    out = annotate(_msgs(("inaki", long_post), ("tom", "inaki: no, thanks for moving them")))
    assert out[0].role == "post"
    texts = [u.text for u in answer_units(out, split_units) if u.message.author == "inaki"]
    assert texts and not any(t.endswith("?") for t in texts)


def test_a_few_chat_lines_that_ask_are_the_question_not_a_quote_even_over_the_question_cutoff() -> None:
    opener = ("hey all, i have a security question on vnc: i use a vnc viewer to reach my ubuntu desktop from my "
              "laptop in the same house, and i forwarded port 5900 on my router so i could connect from work too. "
              "tonight i saw two other users connected and cut them off. i set an 8 character password, so how "
              "is this possible?")
    assert len(opener.split()) > POST_WORDS and len(opener) <= CHAT_LINE
    out = annotate(_msgs(("sam", opener), ("ikonia", "sam: vnc passwords are weak, tunnel it over ssh instead")))
    assert [m.role for m in out] == ["post", "answer"]
    units = answer_units(out, split_units)
    assert [u.message.author for u in units] == ["ikonia"]  # the asker's own words are never the answer


def test_a_mail_that_lays_out_a_proposal_and_asks_for_an_ok_is_still_quoted() -> None:
    proposal = ("Elena, proposal for credits after Friday's outage: 10% of the March subscription fee for every "
                "fleet customer with active routes between 16:45 and 20:00 UTC on 14 March. Ben's list has 19 "
                "customers. Total EUR 8,430, issued as GOODWILL credit notes on the March invoices. Starter "
                "customers get no credit, they weren't routing on Friday evening in any meaningful numbers, and we "
                "will handle them if they ask. Above EUR 5,000 this needs the CEO's OK as well as mine, I have it "
                "as of this morning. Ok from your side? Grace")
    assert len(proposal) > CHAT_LINE
    out = annotate(_msgs(("grace", proposal), ("elena", "Yes, agreed.")))
    texts = [u.text for u in answer_units(out, split_units) if u.message.author == "grace"]
    assert any("EUR 8,430" in t for t in texts) and not any(t.endswith("?") for t in texts)


def test_a_lost_character_is_no_question_mark() -> None:
    # Archived mail writes "I?aki" for "Iñaki": the poster's thanks confirmed a fix and was read as a question.
    long_report = "I am stuck and need help with a calculation that stalls on Fedora 33. " * 10
    out = annotate(_msgs(
        ("René Genz", long_report),
        ("Iñaki Ucar", "Switch to sequential OpenBLAS: sudo dnf install flexiblas-openblas-serial"),
        ("René Genz", "Hi I?aki, thank you very much. All 3 solutions work for me.\n-- \nBest regards,\nRen?"),
    ))
    assert [m.role for m in out] == ["post", "answer", "ack"]


def test_the_author_of_a_mail_post_answers_the_lists_follow_up_questions() -> None:
    post = ("R has been built against FlexiBLAS in rawhide. These are the R packages that need to be rebuilt: "
            + "R-ape R-expm R-gee R-gss R-igraph R-msm. " * 12 + "Thanks in advance!")
    assert len(post) > CHAT_LINE
    out = annotate(_msgs(
        ("Iñaki Ucar", post),
        ("Tom Callaway", "These should all be finished now."),
        ("Elliott Sales de Andrade", "Iñaki, I noticed that R-sfsmisc is failing with the BLAS change. Any ideas?"),
        ("Iñaki Ucar", "Elliott: you can just export FLEXIBLAS=netlib in the %check section."),
        ("Iñaki Ucar", "Did anyone else see this on i686?"),
        ("Iñaki Ucar", "It needs 27:28 iterations, less or more? I doubt it. " * 3 + "Anyway, set FLEXIBLAS=netlib."),
    ))
    assert [m.role for m in out] == ["post", "answer", "answer", "answer", "question", "answer"]
    units = [u.text for u in answer_units(out, split_units)]
    assert "Elliott: you can just export FLEXIBLAS=netlib in the %check section." in units


def test_in_chat_the_askers_follow_ups_are_never_answers() -> None:
    # The same shape on IRC: a long opener (a post by word count, but one chat line) and the asker's reply to a
    # clarifying question stay the asker's words.
    opener = "my wireless card stopped working after the upgrade to 8.04, " * 6
    assert len(opener) <= CHAT_LINE
    out = annotate(_msgs(("jk_", opener), ("ikonia", "jk_: which card is it?"), ("jk_", "ikonia: an intel 3945")))
    assert out[0].role == "post" and out[2].role == "other"


def test_a_mail_that_reports_a_problem_and_later_confirms_a_fix_is_the_question() -> None:
    report = ("Hi, the other day I was asked to investigate a problem regarding R. The R code works on Fedora 32, "
              "but not since Fedora 33. I am stuck and need help. " * 4)
    assert len(report) > CHAT_LINE
    out = annotate([Message(author="René Genz", text=report, id="r1"),
                    Message(author="Iñaki Ucar", id="i1", reply_to="r1",
                            text="Switch to sequential OpenBLAS: dnf install flexiblas-openblas-serial"),
                    Message(author="René Genz", text="Hi I?aki, thank you very much. All 3 solutions work for me.",
                            id="r2", reply_to="i1")])
    assert [m.role for m in out] == ["post", "answer", "ack"]
    units = answer_units(out, split_units)
    assert [u.message.author for u in units] == ["Iñaki Ucar"]  # the report is context, not an answer
    assert asker(out) == "René Genz" and replied_to(out) == "René Genz's question"
    assert set(credit(out)) == {"i1"}


def test_a_later_chunk_of_a_thread_brings_the_whole_thread() -> None:
    # A long thread's later chunk holds no opener; read alone it was loose chat, the asker's words quotable.
    from rag.threads.answer import expand_threads
    from rag.types import Chunk, Hit

    msgs = annotate(_msgs(("ann", "how do i mount an ntfs drive?"), ("bob", "ann: sudo apt install ntfs-3g"),
                          ("ann", "bob: it says permission denied when I mount it"),
                          ("bob", "ann: use sudo mount -t ntfs-3g /dev/sdb1 /mnt")))

    def chunk(i: int, ms: tuple[Message, ...]) -> Chunk:
        return Chunk(chunk_id=f"t-{i}", doc_id="t", index=i, text="...", title="#ubuntu", kind="thread",
                     source="threads/t.json", messages=ms)

    parts = [chunk(0, tuple(msgs[:2])), chunk(1, tuple(msgs[2:]))]
    [hit] = expand_threads([Hit(chunk=parts[1], score=1.0)], lambda _doc: parts)
    assert [m.role for m in hit.chunk.messages] == ["question", "answer", "other", "answer"]
    units = [u.text for u in answer_units(hit.chunk.messages, split_units)]
    assert units == ["ann: sudo apt install ntfs-3g", "ann: use sudo mount -t ntfs-3g /dev/sdb1 /mnt"]


def test_a_thread_past_the_first_three_is_read_whole_when_it_holds_the_rarest_focus_they_lack() -> None:
    from rag.threads.answer import expand_threads
    from rag.types import Chunk, Hit

    def thread(doc: str, opener: str, reply: str) -> list[Chunk]:
        msgs = annotate(_msgs(("ann", opener), ("bob", f"ann: {reply}")))
        return [Chunk(chunk_id=f"{doc}-{i}", doc_id=doc, index=i, text=m.text, title="#ubuntu", kind="thread",
                      source=f"threads/{doc}.json", messages=(m,)) for i, m in enumerate(msgs)]

    store = {d: thread(d, f"how do i fix wifi {d}?", "reboot") for d in ("a", "b", "c")}
    store["d"] = thread("d", "how do i fix wifi with ndiswrapper?", "install the windows driver")
    store["e"] = thread("e", "how do i fix wifi on boot?", "check rfkill")
    hits = [Hit(chunk=store[d][0], score=1.0) for d in "abcde"]
    out = expand_threads(hits, lambda doc: store[doc], focus=frozenset({"ndiswrapper"}))
    whole = {h.chunk.doc_id for h in out if len(h.chunk.messages) == 2}
    assert whole == {"a", "b", "c", "d"}  # "e" stays a chunk: past the limit and without the term
    assert {h.chunk.doc_id for h in expand_threads(hits, lambda doc: store[doc]) if len(h.chunk.messages) == 2} \
        == {"a", "b", "c"}
