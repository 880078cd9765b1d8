"""The hybrid fusions (search/fusion.py) on small hand-made candidate lists."""

from __future__ import annotations

import pytest

from newsarchive.archive.search.fusion import (
    ScoreWeights,
    normalised,
    passage_fusion,
    reciprocal_rank_fusion,
    score_fusion,
)

# Article A: passages 1 (its first) and 2; article B: passage 3 (its first passage is 4).
SEMANTIC = [(3, 0.9), (2, 0.8)]
KEYWORD = [(1, 10.0), (3, 2.0)]
OWNERS = {1: "A", 2: "A", 3: "B", 4: "B"}
FIRST = {"A": 1, "B": 4}


def test_scores_are_divided_by_the_best_and_absent_ones_get_the_lowest():
    scores, floor = normalised([(1, 10.0), (3, 2.0)])
    assert scores == {1: 1.0, 3: 0.2} and floor == 0.2
    assert normalised([]) == ({}, 0.0)
    assert normalised([(1, -0.5), (2, -1.0)]) == ({1: -0.5, 2: -1.0}, -1.0)  # not flipped


def test_an_article_scores_its_best_passage_and_its_first_on_both_sides():
    # d: 3 -> 1, 2 -> 0.8/0.9, absent -> 0.8/0.9; k: 1 -> 1, 3 -> 0.2, absent -> 0.2
    d2 = 0.8 / 0.9
    a = 0.65 * (d2 + 0.3 * d2) + 0.35 * (1.0 + 0.3 * 1.0)
    b = 0.65 * (1.0 + 0.3 * d2) + 0.35 * (0.2 + 0.3 * 0.2)  # its first passage is no candidate
    fused = score_fusion(SEMANTIC, KEYWORD, OWNERS, FIRST)
    # A's shown passage is 1 (0.65 d + 0.35 k highest), then its other candidate, then B.
    assert [pid for pid, _ in fused] == [1, 2, 3]
    assert [score for _, score in fused] == pytest.approx([a, a, b])


def test_without_lead_evidence_the_first_passage_counts_as_absent():
    d2 = 0.8 / 0.9
    a = 0.65 * (d2 + 0.3 * d2) + 0.35 * (1.0 + 0.3 * 0.2)
    fused = dict(score_fusion(SEMANTIC, KEYWORD, OWNERS))
    assert fused[1] == pytest.approx(a)


def test_a_lead_that_matches_lifts_its_story():
    semantic = [(10, 1.0), (20, 0.95)]
    owners = {10: "X", 20: "Y"}
    first = {"X": 11, "Y": 20}
    assert [pid for pid, _ in score_fusion(semantic, [], owners, first)] == [10, 20]
    lifted = score_fusion(semantic, [], owners, first, lead_cosines={"X": 0.2, "Y": 0.6})
    assert [pid for pid, _ in lifted] == [20, 10]
    by_keyword = score_fusion(
        semantic, [(10, 1.0)], owners, first, lead_keyword=[("Y", 9.0), ("Z", 1.0)]
    )
    assert by_keyword[0][0] == 20


def test_only_the_keyword_scores_ratios_matter_so_any_engine_fits():
    scaled = [(pid, score * 7.5) for pid, score in KEYWORD]
    before = score_fusion(SEMANTIC, KEYWORD, OWNERS, FIRST)
    after = score_fusion(SEMANTIC, scaled, OWNERS, FIRST)
    assert [pid for pid, _ in after] == [pid for pid, _ in before]
    assert [s for _, s in after] == pytest.approx([s for _, s in before])


def test_ties_go_to_the_lower_passage_id_and_removed_passages_are_skipped():
    semantic = [(7, 0.5), (5, 0.5), (9, 0.5)]
    fused = score_fusion(semantic, [], {7: "P", 5: "Q"})  # 9 was removed since retrieval
    assert [pid for pid, _ in fused] == [5, 7]


def test_the_weights_move_the_balance_between_the_sides():
    semantic_only = ScoreWeights(alpha=1.0, first_passage=0.0, lead=0.0)
    fused = score_fusion(SEMANTIC, KEYWORD, OWNERS, FIRST, weights=semantic_only)
    assert [pid for pid, _ in fused][0] == 3


def test_passages_alone_are_a_convex_combination():
    fused = passage_fusion(SEMANTIC, KEYWORD)
    d2 = 0.8 / 0.9
    expected = {
        1: 0.65 * d2 + 0.35 * 1.0,
        2: 0.65 * d2 + 0.35 * 0.2,
        3: 0.65 * 1.0 + 0.35 * 0.2,
    }
    assert [pid for pid, _ in fused] == [1, 3, 2]
    assert dict(fused) == pytest.approx(expected)


def test_reciprocal_rank_fusion_is_still_there():
    fused = reciprocal_rank_fusion([[1, 2], [2, 3]], k=60)
    assert [pid for pid, _ in fused] == [2, 1, 3]


def test_a_keyword_list_shorter_than_asked_gives_the_absent_nothing():
    semantic = [(1, 0.9), (2, 0.8)]
    owners = {1: "A", 2: "B"}
    # One passage matches a rare word: cut lists would give the absent its score (the list's
    # lowest, here its only one), so the match would count for nothing.
    cut = score_fusion(semantic, [(2, 4.0)], owners)
    complete = score_fusion(semantic, [(2, 4.0)], owners, keyword_depth=500)
    assert [pid for pid, _ in cut] == [1, 2]
    assert [pid for pid, _ in complete] == [2, 1]
    assert normalised([(2, 4.0)], 500) == ({2: 1.0}, 0.0)
    assert normalised([(2, 4.0), (3, 2.0)], 2) == ({2: 1.0, 3: 0.5}, 0.5)  # cut at 2
