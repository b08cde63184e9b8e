"""Each metric on hand-computed cases; the arithmetic is in the comments."""

from __future__ import annotations

import math

import pytest

from eval.metrics import (
    AbstentionScores,
    abstention_scores,
    alias_map,
    asker_p_at_1,
    citation_precision,
    citation_recall,
    cosine,
    crag_score,
    evidence_hit,
    expert_average_precision,
    expert_mrr,
    expert_p_at_1,
    expert_strict_p_at_1,
    mean,
    mrr,
    ndcg_at_k,
    normalize_name,
    normalize_text,
    percentile,
    recall_at_k,
    rouge_l,
    token_f1,
)

LOG2_3 = math.log2(3)  # 1.58496..., so 1/log2(3) = 0.63093

# --- retrieval -------------------------------------------------------------------------------------

# rank 1 irrelevant; rank 2 a thread of the gold mbox; rank 3 a doc whose second path is gold;
# rank 4 another thread of the same mbox (no new gold source); rank 5 irrelevant. wiki/z.md never found.
RETRIEVED = [
    ("wiki/a.md",),
    ("email/eng.mbox#t1@x",),
    ("wiki/b.md", "wiki/b-copy.md"),
    ("email/eng.mbox#t2@x",),
    ("wiki/c.md",),
]
GOLD = ["email/eng.mbox", "wiki/b-copy.md", "wiki/z.md"]


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, 0.0),  # 0 of 3 gold in top 1
        (2, 1 / 3),  # the mbox via its thread anchor
        (3, 2 / 3),  # + wiki/b-copy.md, the doc's second path
        (5, 2 / 3),  # the second mbox thread adds no new gold source
        (10, 2 / 3),  # k past the list's end
    ],
)
def test_recall_at_k(k: int, expected: float) -> None:
    assert recall_at_k(RETRIEVED, GOLD, k=k) == pytest.approx(expected)


def test_recall_counts_a_repeated_gold_source_once() -> None:
    # distinct gold = {wiki/a.md}: 1 of 1
    assert recall_at_k([("wiki/a.md",)], ["wiki/a.md", "wiki/a.md"], k=1) == 1.0


def test_mrr() -> None:
    assert mrr(RETRIEVED, GOLD) == 0.5  # first relevant at rank 2 -> 1/2
    assert mrr([("wiki/x.md",), ("wiki/y.md",), ("wiki/b-copy.md",)], GOLD) == pytest.approx(1 / 3)
    assert mrr([("wiki/x.md",)], GOLD) == 0.0  # nothing relevant


def test_ndcg_counts_each_gold_source_once() -> None:
    # gains at ranks 2 and 3 (rank 4 repeats the mbox): DCG = 1/log2(3) + 1/log2(4) = 0.63093 + 0.5
    # ideal puts min(3 gold, 5) = 3 hits first: IDCG = 1 + 1/log2(3) + 1/2 = 2.13093 -> 1.13093/2.13093
    expected = (1 / LOG2_3 + 0.5) / (1 + 1 / LOG2_3 + 0.5)
    assert expected == pytest.approx(0.53072, abs=1e-5)
    assert ndcg_at_k(RETRIEVED, GOLD, k=5) == pytest.approx(expected)
    # k=2: DCG = 1/log2(3); IDCG = 1 + 1/log2(3) (min(3, 2) = 2 ideal hits) -> 0.63093/1.63093 = 0.38685
    assert ndcg_at_k(RETRIEVED, GOLD, k=2) == pytest.approx(0.38685, abs=1e-5)
    # default k=10: same as k=5, the list has 5 docs
    assert ndcg_at_k(RETRIEVED, GOLD) == pytest.approx(expected)


def test_ndcg_duplicate_matches_of_one_gold_file() -> None:
    two_threads = [("email/eng.mbox#t1@x",), ("email/eng.mbox#t2@x",)]
    # DCG = 1 (rank 1) + 0 (same gold again); IDCG = 1 (one gold) -> 1.0, not 1.63
    assert ndcg_at_k(two_threads, ["email/eng.mbox"]) == 1.0
    # behind one miss: DCG = 1/log2(3) = 0.63093; IDCG = 1
    assert ndcg_at_k([("wiki/x.md",), *two_threads], ["email/eng.mbox"]) == pytest.approx(1 / LOG2_3)
    # the perfect order of two gold docs: DCG = IDCG = 1 + 1/log2(3)
    assert ndcg_at_k([("wiki/a.md",), ("wiki/b.md",)], ["wiki/a.md", "wiki/b.md"]) == pytest.approx(1.0)


def test_retrieval_without_gold_is_none_and_empty_retrieval_is_zero() -> None:
    assert recall_at_k(RETRIEVED, [], k=5) is None
    assert mrr(RETRIEVED, []) is None
    assert ndcg_at_k(RETRIEVED, []) is None
    assert recall_at_k([], GOLD, k=5) == 0.0
    assert mrr([], GOLD) == 0.0
    assert ndcg_at_k([], GOLD) == 0.0


def test_k_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        recall_at_k(RETRIEVED, GOLD, k=0)
    with pytest.raises(ValueError, match="k must be at least 1"):
        ndcg_at_k(RETRIEVED, GOLD, k=0)


# --- citations -------------------------------------------------------------------------------------

CITED = [("wiki/a.md",), ("email/eng.mbox#t1@x",), ("wiki/c.md",), ("wiki/d.md",)]
CITED_TEXTS = ["Deploys go out on Tuesdays.", "Thread text.", "We   ROLL back with\nHelm rollback.", "Lunch."]
GOLD_SOURCES = ["email/eng.mbox", "wiki/b.md"]


def test_citation_precision_by_source_and_by_evidence() -> None:
    # by source only: the mbox thread -> 1 of 4
    assert citation_precision(CITED, GOLD_SOURCES) == 0.25
    # wiki/c.md's text, whitespace and case normalised, contains the evidence -> 2 of 4
    evidence = ["we roll back with  HELM rollback"]
    assert citation_precision(CITED, GOLD_SOURCES, cited_texts=CITED_TEXTS, evidence=evidence) == 0.5
    # evidence given but no texts: only the source match counts -> 1 of 4
    assert citation_precision(CITED, GOLD_SOURCES, evidence=evidence) == 0.25


def test_citation_precision_edge_cases() -> None:
    assert citation_precision([], GOLD_SOURCES) is None  # nothing cited
    assert citation_precision(CITED, []) == 0.0  # citing on a question with no gold: 0 of 4
    with pytest.raises(ValueError, match="1 cited texts for 4 cited documents"):
        citation_precision(CITED, GOLD_SOURCES, cited_texts=["x"])


def test_citation_recall() -> None:
    # distinct gold {eng.mbox, wiki/b.md}; the cited thread covers the mbox -> 1/2
    assert citation_recall(CITED, GOLD_SOURCES) == 0.5
    assert citation_recall([("wiki/b.md",), ("email/eng.mbox#t9@x",)], GOLD_SOURCES) == 1.0  # 2/2
    assert citation_recall([], GOLD_SOURCES) == 0.0
    assert citation_recall(CITED, []) is None


# --- answers ---------------------------------------------------------------------------------------


def test_normalize_text() -> None:
    # lower -> drop punctuation ("cat's" -> "cats") -> drop the/a -> collapse spaces
    assert normalize_text("The Cat's  hat, isn't A  problem!") == "cats hat isnt problem"
    # typographic apostrophe and an em dash are punctuation too
    assert normalize_text("Don\u2019t \u2014 stop") == "dont stop"
    # articles only as whole words
    assert normalize_text("theatre another an") == "theatre another"
    assert normalize_text("  ") == ""


def test_token_f1() -> None:
    # [quick brown fox] vs [quick red fox jumps]: 2 shared; P = 2/3, R = 2/4 -> 2PR/(P+R) = 4/7
    assert token_f1("the quick brown fox", "a quick red fox jumps") == pytest.approx(4 / 7)
    # shared counts are clipped: min(3, 1) = 1; P = 1/3, R = 1 -> (2/3)/(4/3) = 0.5
    assert token_f1("fox fox fox", "fox") == pytest.approx(0.5)
    assert token_f1("Helm rollback.", "helm ROLLBACK") == 1.0  # same after normalisation
    assert token_f1("red", "blue") == 0.0


def test_token_f1_empty_answers() -> None:
    assert token_f1("", "") == 1.0
    assert token_f1("The.", "") == 1.0  # "the." normalises to nothing
    assert token_f1("", "helm rollback") == 0.0
    assert token_f1("helm rollback", "") == 0.0


def test_rouge_l() -> None:
    # [police killed gunman] vs [gunman police killed]: LCS = police killed = 2; P = R = 2/3 -> F = 2/3
    assert rouge_l("police killed the gunman", "the gunman police killed") == pytest.approx(2 / 3)
    # [w x y z] vs [x z q]: LCS = x z = 2; P = 2/4, R = 2/3 -> (2/3)/(7/6) = 4/7
    assert rouge_l("w x y z", "x z q") == pytest.approx(4 / 7)
    # order matters, unlike token F1: LCS of [x y] and [y x] is 1; P = R = 1/2
    assert rouge_l("x y", "y x") == 0.5 and token_f1("x y", "y x") == 1.0
    assert rouge_l("red", "blue") == 0.0


def test_rouge_l_empty_answers() -> None:
    assert rouge_l("", "") == 1.0
    assert rouge_l("", "helm rollback") == 0.0
    assert rouge_l("helm rollback", "") == 0.0


def test_evidence_hit_by_substring() -> None:
    text = "We fixed it.  Quote: Team identified that the DISK space was\nreduced from 100Gb to 20Gb."
    evidence = ["team identified that the disk space was reduced from 100Gb to 20Gb", "Nobody was paged"]
    # fragment 1 is a substring after whitespace/case normalisation; fragment 2's best 3-token window
    # shares only "was" (F1 = 1/3 < 0.8) -> 1 of 2
    assert evidence_hit(text, evidence) == 0.5


def test_evidence_hit_by_token_f1_of_the_best_window() -> None:
    # normalised: [manually adding annotations restored dns]
    fragment = ["Manually adding the annotations restored the DNS."]
    # not a substring (no "the"), but a 5-token window equals the fragment: F1 = 1.0
    assert evidence_hit("They restored it: manually adding annotations restored DNS quickly", fragment) == 1.0
    # 4 of 5 tokens shared: P = R = 4/5 -> F1 = 0.8 >= 0.8, a hit
    assert evidence_hit("manually adding labels restored dns", fragment) == 1.0
    # 3 of 5 shared: F1 = 0.6, a miss
    assert evidence_hit("manually adding labels fixed dns", fragment) == 0.0
    # text shorter than the fragment: window = [restored dns]; P = 2/2, R = 2/5 -> 0.8/1.4 = 0.571, a miss
    assert evidence_hit("restored dns", fragment) == 0.0
    # with a lower threshold the same 0.6 window counts
    assert evidence_hit("manually adding labels fixed dns", fragment, threshold=0.6) == 1.0


def test_evidence_hit_edge_cases() -> None:
    assert evidence_hit("anything", []) is None
    assert evidence_hit("anything", ["  ", "..."]) is None  # nothing left after normalisation
    assert evidence_hit("", ["helm rollback"]) == 0.0  # empty answer


def test_cosine() -> None:
    assert cosine([1.0, 0.0], [0.0, 1.0]) == 0.0
    assert cosine([1, 2, 2], [2, 4, 4]) == pytest.approx(1.0)  # dot 18 / (3 * 6)
    assert cosine([1, 0], [1, 1]) == pytest.approx(1 / math.sqrt(2))  # 1 / (1 * sqrt 2) = 0.7071
    assert cosine([3, 4], [-3, -4]) == pytest.approx(-1.0)  # -25 / (5 * 5)
    assert cosine([0, 0], [1, 1]) == 0.0
    with pytest.raises(ValueError, match="different lengths"):
        cosine([1, 2], [1, 2, 3])


# --- experts ---------------------------------------------------------------------------------------

ALIASES = alias_map({"David Read": ["Dave R"], "Mike Bell": ["mbell"]})


def test_normalize_name() -> None:
    assert normalize_name("  Jos\u00e9   \u00c1LVAREZ ") == "jose alvarez"  # accents, case, spaces
    assert normalize_name("Jose\u0301 Alvarez") == "jose alvarez"  # already decomposed accent
    assert normalize_name("Stra\u00dfe") == "strasse"  # casefold, not lower
    assert normalize_name("Dave  R", ALIASES) == "david read"
    assert normalize_name("Ann Smith", ALIASES) == "ann smith"  # no alias: unchanged


def test_alias_map() -> None:
    assert alias_map({"David Read": ["Dave R", "DREAD"], "Jos\u00e9 \u00c1lvarez": ["Pepe"]}) == {
        "david read": "david read",
        "dave r": "david read",
        "dread": "david read",
        "jose alvarez": "jose alvarez",
        "pepe": "jose alvarez",
    }


def test_expert_metrics_with_aliases() -> None:
    gold = ["David Read", "Mike Bell"]
    returned = ["Ann Smith", "Dave R", "David Read", "mbell"]
    # ranked after aliases and de-duplication: [ann smith, david read, mike bell]
    assert expert_p_at_1(returned, gold, aliases=ALIASES) == 0.0
    assert expert_strict_p_at_1(returned, gold, aliases=ALIASES) == 0.0
    assert expert_mrr(returned, gold, aliases=ALIASES) == 0.5  # first gold at rank 2
    # hits at ranks 2 and 3: (1/2 + 2/3) / 2 gold = 7/12
    assert expert_average_precision(returned, gold, aliases=ALIASES) == pytest.approx(7 / 12)


def test_expert_metrics_without_aliases() -> None:
    gold = ["David Read", "Mike Bell"]
    returned = ["Ann Smith", "Dave R", "David Read", "mbell"]
    # [ann smith, dave r, david read, mbell]: only "david read" is gold, at rank 3
    assert expert_mrr(returned, gold) == pytest.approx(1 / 3)
    # one hit at rank 3: (1/3) / 2 gold = 1/6
    assert expert_average_precision(returned, gold) == pytest.approx(1 / 6)


def test_expert_p_at_1_any_gold_versus_strict() -> None:
    gold = ["David Read", "Mike Bell"]
    returned = ["mike  BELL", "David Read"]
    assert expert_p_at_1(returned, gold) == 1.0  # mike bell is a gold expert
    assert expert_strict_p_at_1(returned, gold) == 0.0  # but not the first one
    assert expert_strict_p_at_1(["david read"], gold) == 1.0
    assert expert_mrr(returned, gold) == 1.0
    assert expert_average_precision(returned, gold) == 1.0  # (1/1 + 2/2) / 2


def test_expert_metrics_with_accents() -> None:
    assert expert_p_at_1(["jose alvarez"], ["Jos\u00e9 \u00c1lvarez"]) == 1.0
    assert expert_strict_p_at_1(["JOS\u00c9 ALVAREZ"], ["Jose Alvarez"]) == 1.0


def test_expert_average_precision_counts_missing_experts() -> None:
    # one hit at rank 1 (1/1), David Read never returned: 1 / 2 gold = 0.5
    assert expert_average_precision(["Mike Bell", "X"], ["David Read", "Mike Bell"]) == 0.5
    # hit at rank 2: (1/2) / 1 gold
    assert expert_average_precision(["X", "Mike Bell"], ["Mike Bell"]) == 0.5


def test_expert_metrics_edge_cases() -> None:
    for metric in (expert_p_at_1, expert_strict_p_at_1, expert_mrr, expert_average_precision):
        assert metric(["Ann"], []) is None, metric.__name__
        assert metric([], ["Ann"]) == 0.0, metric.__name__


# --- abstention ------------------------------------------------------------------------------------


def test_abstention_scores() -> None:
    pairs = [(True, True), (True, False), (False, True), (False, False), (False, False), (True, True)]
    # tp = 2, fn = 1, fp = 1, tn = 2: precision 2/3, recall 2/3
    scores = abstention_scores(pairs)
    assert isinstance(scores, AbstentionScores)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)
    counts = (scores.true_positives, scores.false_positives, scores.false_negatives, scores.true_negatives)
    assert counts == (2, 1, 1, 2)


def test_abstention_scores_undefined_parts() -> None:
    never = abstention_scores([(True, False), (False, False)])
    assert (never.precision, never.recall) == (None, 0.0)  # no abstention; 0 of 1 unanswerable
    nothing_to_abstain = abstention_scores([(False, True), (False, False)])
    assert (nothing_to_abstain.precision, nothing_to_abstain.recall) == (0.0, None)  # 0 of 1 abstentions
    empty = abstention_scores([])
    assert (empty.precision, empty.recall, empty.true_negatives) == (None, None, 0)


@pytest.mark.parametrize(
    ("answerable", "abstained", "cited_gold", "expected"),
    [
        (True, False, True, 1),  # answered, citing a gold source
        (True, False, False, -1),  # answered without one
        (True, True, False, 0),  # abstained on an answerable question
        (True, True, True, 0),
        (False, True, False, 1),  # abstained where it should
        (False, False, False, -1),  # answered an unanswerable question: a hallucination
        (False, False, True, -1),
    ],
)
def test_crag_score(answerable: bool, abstained: bool, cited_gold: bool, expected: int) -> None:
    assert crag_score(answerable=answerable, abstained=abstained, cited_gold=cited_gold) == expected


# --- aggregation -----------------------------------------------------------------------------------


def test_percentile_interpolates_like_numpy() -> None:
    values = [50.0, 15.0, 40.0, 20.0, 35.0]  # sorted: 15 20 35 40 50
    assert percentile(values, 50) == 35.0  # position 4 * 0.5 = 2
    assert percentile(values, 95) == pytest.approx(48.0)  # position 3.8: 40 + 0.8 * (50 - 40)
    assert percentile(values, 25) == 20.0  # position 1
    assert percentile(values, 0) == 15.0
    assert percentile(values, 100) == 50.0
    assert percentile([10.0, 20.0], 95) == pytest.approx(19.5)  # position 0.95: 10 + 0.95 * 10
    assert percentile([7.0], 95) == 7.0


def test_percentile_edge_cases() -> None:
    assert percentile([], 50) is None
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_mean_skips_none() -> None:
    assert mean([1.0, None, 0.0, 0.5]) == 0.5  # 1.5 / 3
    assert mean(v for v in (0.25, 0.75)) == 0.5
    assert mean([None, None]) is None
    assert mean([]) is None


def test_asker_p_at_1_flags_the_asker_credited_first() -> None:
    assert asker_p_at_1(["jk_", "ikonia"], "jk_") == 1.0
    assert asker_p_at_1(["ikonia", "jk_"], "jk_") == 0.0
    assert asker_p_at_1([], "jk_") == 0.0
    assert asker_p_at_1(["ikonia"], None) is None
    aliases = alias_map({"Ann Lee": ["ann"]})
    assert asker_p_at_1(["ann"], "Ann Lee", aliases=aliases) == 1.0
