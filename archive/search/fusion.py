"""Combine ranked lists from different retrievers into one ranking.

Reciprocal rank fusion only looks at ranks, so BM25 scores and cosines never need to be put on
one scale. The constant k damps the weight of the very first ranks. On both dev sets a small k
(top ranks count) with the keyword list at half the weight of the semantic one was the only
setting that beat both single retrievers on all four MRR figures (full sets and low-overlap
subsets); the sweep is in bench/README.md.
"""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 5
# (semantic, keyword): BM25 catches exact names and numbers but is the weaker ranker on
# paraphrased queries, so it breaks ties rather than leads.
HYBRID_WEIGHTS = (1.0, 0.5)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]],
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[int, float]]:
    """Ranked id lists -> [(id, fused score)], best first; ties broken by id for stable paging."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
