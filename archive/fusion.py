"""Combine ranked lists from different retrievers into one ranking.

Reciprocal rank fusion only looks at ranks, so BM25 scores and cosines never need to be put on
one scale. The constant k damps the weight of the very first ranks; see bench/README.md for the
values measured on the dev sets.
"""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60


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
