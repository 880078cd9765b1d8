"""`score_fusion` on arrays (search/fusion.py) gives exactly what the formula written per
passage gives (the version it replaced, kept here as the reference): the same passages in the
same order with the same scores to the bit, on random candidate lists with ties, passages
without an article, first passages in and out of the lists, and with or without leads."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import pytest

from newsarchive.archive.search.fusion import (
    LEAD_DEPTH,
    SCORE_WEIGHTS,
    ScoreWeights,
    normalised,
    score_fusion,
)


def reference(
    semantic: Sequence[tuple[int, float]],
    keyword: Sequence[tuple[int, float]],
    article_of: Mapping[int, str],
    first_passage: Mapping[str, int] | None = None,
    lead_cosines: Mapping[str, float] | None = None,
    lead_keyword: Sequence[tuple[str, float]] | None = None,
    weights: ScoreWeights = SCORE_WEIGHTS,
    keyword_depth: int | None = None,
    lead_depth: int | None = LEAD_DEPTH,
) -> list[tuple[int, float]]:
    """The per-passage formula (search/fusion.py before it moved to arrays)."""
    alpha = weights.alpha
    dense, dense_floor = normalised(semantic)  # every passage has a cosine: never complete
    lexical, lexical_floor = normalised(keyword, keyword_depth)
    first_passage = first_passage or {}
    # article -> [D_max, K_max, shown passage's score, shown passage id]
    best: dict[str, list] = {}
    shown: dict[int, float] = {}
    for pid in dict.fromkeys([p for p, _ in semantic] + [p for p, _ in keyword]):
        article = article_of.get(pid)
        if article is None:
            continue
        d, k = dense.get(pid, dense_floor), lexical.get(pid, lexical_floor)
        own = shown[pid] = alpha * d + (1 - alpha) * k
        row = best.get(article)
        if row is None:
            best[article] = [d, k, own, pid]
            continue
        row[0] = max(row[0], d)
        row[1] = max(row[1], k)
        if own > row[2] or (own == row[2] and pid < row[3]):
            row[2], row[3] = own, pid
    first_dense: dict[str, float] = {}
    if lead_cosines:
        top = max((lead_cosines.get(a, 0.0) for a in best), default=0.0)
        scale = top if top > 0 else 1.0
        first_dense = {a: lead_cosines.get(a, 0.0) / scale for a in best}
    first_lexical, first_floor = normalised(lead_keyword or [], lead_depth)
    article_score: dict[str, float] = {}
    for article, (d_max, k_max, _, _) in best.items():
        lead_pid = first_passage.get(article)
        lead_in = lead_pid in shown
        d_lead = dense.get(lead_pid, dense_floor) if lead_in else dense_floor
        k_lead = lexical.get(lead_pid, lexical_floor) if lead_in else lexical_floor
        dense_side = (
            d_max + weights.first_passage * d_lead + weights.lead * first_dense.get(article, 0.0)
        )
        keyword_side = k_max + weights.first_passage * k_lead
        if first_lexical:
            keyword_side += weights.lead * first_lexical.get(article, first_floor)
        article_score[article] = alpha * dense_side + (1 - alpha) * keyword_side

    def order(pid: int) -> tuple[float, int, int, float, int]:
        article = article_of[pid]
        head = best[article][3]
        return (-article_score[article], head, pid != head, -shown[pid], pid)

    return [(pid, article_score[article_of[pid]]) for pid in sorted(shown, key=order)]


def case(seed: int) -> dict:
    rng = random.Random(seed)
    pool = list(range(1, 400))
    articles = {pid: f"a{rng.randrange(120)}" for pid in pool if rng.random() > 0.02}
    # scores on a coarse grid: ties between passages and between articles
    semantic = [(pid, rng.randrange(1, 50) / 7) for pid in rng.sample(pool, 200)]
    semantic.sort(key=lambda pair: -pair[1])
    keyword = [(pid, rng.randrange(0, 30) / 3) for pid in rng.sample(pool, rng.randrange(0, 150))]
    keyword.sort(key=lambda pair: -pair[1])
    names = sorted(set(articles.values()))
    first = {a: rng.choice(pool) for a in names if rng.random() > 0.1}
    cosines = {a: rng.randrange(-5, 20) / 11 for a in names if rng.random() > 0.2}
    leads = [(a, rng.randrange(1, 9) / 5) for a in rng.sample(names, rng.randrange(0, 60))]
    leads.sort(key=lambda pair: -pair[1])
    return {
        "semantic": semantic,
        "keyword": keyword,
        "article_of": articles,
        "first_passage": first if seed % 5 else None,
        "lead_cosines": cosines if seed % 4 else None,
        "lead_keyword": leads if seed % 3 else None,
        "keyword_depth": rng.choice([None, 100, 500]),
        "lead_depth": rng.choice([None, 40, LEAD_DEPTH]),
    }


@pytest.mark.parametrize("seed", range(60))
def test_score_fusion_on_arrays_equals_the_per_passage_formula(seed: int):
    inputs = case(seed)
    expected = reference(**inputs)
    got = score_fusion(**inputs)
    assert got == expected
    assert all(type(p) is int and type(s) is float for p, s in got)


def test_nothing_to_fuse_gives_nothing():
    assert score_fusion([], [], {}) == []
    assert score_fusion([(1, 0.5)], [], {}) == []  # its article is gone
