"""The gap report's sections, each from questions asked through the real engine over the sample organisation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rag.engine import QueryEngine
from rag.gaps import build_report, gap_reason
from rag.topics import characteristic_terms
from rag.types import Feedback, GapReport, LoggedQuestion, UnansweredTopic
from tests.gaps.conftest import NOW, ask_all

PARENTAL = [("Nora Lindqvist", "How many weeks of paid parental leave do we get?", 30),
            ("Arjun Mehta", "Is paternity leave paid at full salary?", 20),
            ("Diego Alvarez", "Can I take shared parental leave part-time after my baby is born?", 12),
            ("Nora Lindqvist", "Does parental leave also apply when adopting a child?", 2)]
LOAD_TESTS = [("Rafael Santos", "How do we load test tracking-api before peak season?", 25),
              ("Lucas Moreau", "Is there a k6 or Locust setup for load testing our services?", 15),
              ("Rafael Santos", "What load testing tool do we use for the public API?", 5)]
ANSWERED = [("Ben Carter", "How do I deploy a service to production?", 8),
            ("Samuel Osei", "What are the incident severity levels?", 4)]
SONOMA = [("Nora Lindqvist", "After updating my Mac to Sonoma, WireGuard says it's connected but internal "
                             "hostnames don't resolve. What do I do?", 20),
          ("Arjun Mehta", "WireGuard on macOS Sonoma connects but DNS for internal.kestrel.example fails, how do "
                          "I fix it?", 10),
          ("Grace Kim", "Should the WireGuard DNS line include the search domain on macOS Sonoma?", 3)]
ECS = [("Nora Lindqvist", "Why did we move from ECS to Kubernetes?", 9),
       ("Arjun Mehta", "Why did we move our services from ECS to EKS?", 6)]
VAT = [("Ben Carter", "Why does Ledgerline round VAT on each invoice line rather than on the invoice total?", 9),
       ("Grace Kim", "Can I change Ledgerline to round VAT on the invoice total?", 4)]
DEDUP = [("Lucas Moreau", "Why does tracking-event deduplication key on device_ts as well as event_id?", 30),
         ("Lucas Moreau", "Why is event_id not enough to deduplicate tracking events?", 20),
         ("Diego Alvarez", "How are tracking events deduplicated in the ingestion pipeline?", 10)]

def _topic_with(report: GapReport, term: str) -> UnansweredTopic:
    found = [t for t in report.unanswered_topics if term in t.terms]
    assert len(found) == 1, [t.label for t in report.unanswered_topics]
    return found[0]


@pytest.mark.slow
def test_unanswerable_questions_in_two_topics_are_both_reported_with_counts_and_askers(
        gap_engine: QueryEngine) -> None:
    answers = ask_all(gap_engine, PARENTAL + LOAD_TESTS + ANSWERED)
    assert [a.abstained for a in answers] == [True] * 7 + [False] * 2

    report = build_report(gap_engine, now=NOW)

    assert (report.questions, report.unanswered, report.askers) == (9, 7, 7)
    assert len(report.unanswered_topics) == 2, [t.label for t in report.unanswered_topics]
    leave = _topic_with(report, "parental")
    assert leave.count == 4 and leave.abstained == 4
    assert leave.askers == ("Nora Lindqvist", "Arjun Mehta", "Diego Alvarez"), "most frequent asker first"
    assert leave.first_asked == NOW - timedelta(days=30) and leave.last_asked == NOW - timedelta(days=2)
    load = _topic_with(report, "load")
    assert load.count == 3 and set(load.askers) == {"Rafael Santos", "Lucas Moreau"}
    assert {q.question for q in load.questions} == {q for _, q, _ in LOAD_TESTS}
    assert all(q.reason == "abstained" for q in load.questions)
    assert report.unanswered_topics[0].count == 4, "largest first"
    for t in report.unanswered_topics:
        assert t.colleagues and all(c.active is not False for c in t.colleagues), "whom to ask: active people"


@pytest.mark.slow
def test_feedback_turns_an_answered_question_into_a_gap(gap_engine: QueryEngine) -> None:
    [answer] = ask_all(gap_engine, [("Ben Carter", "How do I rotate the Twilio token?", 1)])
    assert not answer.abstained and answer.confidence >= gap_engine.settings.gaps_low_confidence
    assert build_report(gap_engine, now=NOW).unanswered_topics == ()

    assert gap_engine.query_log is not None and answer.question_id
    gap_engine.query_log.add_feedback(answer.question_id, helpful=False, comment="wrong page")
    report = build_report(gap_engine, now=NOW)

    [topic] = report.unanswered_topics
    assert (topic.count, topic.thumbs_down, topic.abstained) == (1, 1, 0)
    assert topic.askers == ("Ben Carter",) and topic.questions[0].reason == "thumbs-down"
    assert "twilio" in topic.terms
    assert report.single_points.documents == () and report.stale == (), "a disowned answer is not relied on"


def test_gap_reason_precedence() -> None:
    def q(*, abstained: bool, confidence: float) -> LoggedQuestion:
        return LoggedQuestion(question_id="q", asked_at=NOW, question="?", abstained=abstained,
                              confidence=confidence)

    up = Feedback(question_id="q", helpful=True, at=NOW)
    down = up.model_copy(update={"helpful": False})
    assert gap_reason(q(abstained=True, confidence=0.1), up, low_confidence=0.6) == "abstained"
    assert gap_reason(q(abstained=False, confidence=0.55), None, low_confidence=0.6) == "low-confidence"
    assert gap_reason(q(abstained=False, confidence=0.55), up, low_confidence=0.6) is None
    assert gap_reason(q(abstained=False, confidence=0.95), down, low_confidence=0.6) == "thumbs-down"
    assert gap_reason(q(abstained=False, confidence=0.95), None, low_confidence=0.6) is None


@pytest.mark.slow
def test_a_topic_only_threads_answer_is_knowledge_only_in_chat(gap_engine: QueryEngine) -> None:
    answers = ask_all(gap_engine, SONOMA + ECS)
    assert all(c.kind == "thread" for a in answers[:3] for c in a.citations)

    report = build_report(gap_engine, now=NOW)

    [chat] = report.only_in_chat
    assert chat.count == 3 and set(chat.askers) == {"Nora Lindqvist", "Arjun Mehta", "Grace Kim"}
    assert {"sonoma", "wireguard"} & set(chat.terms)
    [thread] = chat.threads
    assert thread.source.startswith("slack/platform/2025-10-14.json#") and thread.kind == "thread"
    assert "Tomasz Wilk" in thread.authors and thread.citations == 3
    assert chat.answers_citing_pages == 0


@pytest.mark.slow
def test_a_single_author_topic_is_a_single_point_and_its_author_who_left_is_named(
        gap_engine: QueryEngine) -> None:
    ask_all(gap_engine, VAT + SONOMA)

    sp = build_report(gap_engine, now=NOW).single_points

    [vat] = [t for t in sp.topics if t.questions[0].question in {q for _, q, _ in VAT}]
    assert (vat.person, vat.active, vat.count) == ("Jonas Berg", False, 2)
    assert [d.source for d in vat.documents] == ["wiki/ledgerline-overview.md"]
    # The Sonoma fix lives in one head: Ben Carter asked (his opener is the thread's question, and he confirmed
    # the fix worked), Tomasz Wilk answered. The asker is not a holder of the answer.
    assert len(sp.topics) == 2
    [sonoma] = [t for t in sp.topics if t is not vat]
    assert {"sonoma", "wireguard"} & set(sonoma.terms) and sonoma.person == "Tomasz Wilk"
    docs = {d.document.source: d for d in sp.documents}
    assert docs["wiki/ledgerline-overview.md"].person == "Jonas Berg"
    assert docs["wiki/ledgerline-overview.md"].document.citations == 2
    [jonas] = [h for h in sp.inactive if h.person == "Jonas Berg"]
    assert jonas.team == "Payments" and jonas.citations >= 2 and vat.label in jonas.topics


@pytest.mark.slow
def test_old_documents_still_cited_often_are_stale_but_relied_on(gap_engine: QueryEngine) -> None:
    ask_all(gap_engine, DEDUP + ANSWERED)

    report = build_report(gap_engine, now=NOW)

    stale = {s.document.source: s for s in report.stale}
    pipeline = stale["wiki/ingestion-pipeline.md"]
    assert pipeline.document.date == "2022-08-30" and pipeline.age_days == (NOW.date() - date(2022, 8, 30)).days
    assert pipeline.document.citations >= 3 and pipeline.document.askers == 2
    assert all(s.document.citations >= 3 for s in report.stale)
    assert "wiki/ingestion-pipeline.md" not in {s.document.source for s in
                                               build_report(gap_engine, now=NOW, stale_days=5000).stale}


@pytest.mark.slow
def test_since_limits_the_report_to_recent_questions(gap_engine: QueryEngine) -> None:
    ask_all(gap_engine, PARENTAL)
    report = build_report(gap_engine, now=NOW, since_days=15)
    assert report.questions == 2 and report.since == NOW - timedelta(days=15)
    [leave] = report.unanswered_topics
    assert leave.count == 2 and set(leave.askers) == {"Diego Alvarez", "Nora Lindqvist"}
    assert sum(p.asked for p in report.trend) == 2


def test_topic_labels_are_the_terms_that_distinguish_each_group() -> None:
    labels = characteristic_terms([
        ["How many weeks of paid parental leave?", "Is parental leave paid?", "Parental leave when adopting?"],
        ["How do we load test the API?", "Which load testing tool?", "Where are the load test results?"],
        ["Is the API paid?"]])
    assert labels[0][:2] in {("leave", "parental"), ("parental", "leave")}
    assert labels[1][0] == "load"
    assert labels == characteristic_terms([
        ["How many weeks of paid parental leave?", "Is parental leave paid?", "Parental leave when adopting?"],
        ["How do we load test the API?", "Which load testing tool?", "Where are the load test results?"],
        ["Is the API paid?"]]), "deterministic"
