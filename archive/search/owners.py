"""The articles of a query's candidate passages as small integer codes.

A hybrid query fuses, groups and collapses about a thousand candidate passages of some nine
hundred articles. Keyed by article id strings, each of those steps is a Python loop over the
candidates, and at a million passages the loops cost more than the FAISS search (~6 ms of a
~21 ms query, bench/README.md). With each passage's article as a code (0..n-1, one per
distinct article) they run as numpy operations: `search/fusion.py`'s `fuse_articles` and the
grouping and collapsing in search/searcher.py. The codes are local to one query: the store's
catalog makes them from SQL, the passage map (archive/views.py) from its arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Owners:
    """`passage_ids[i]` belongs to article `articles[codes[i]]` (`codes[i]` -1: the passage is
    gone since retrieval); `clusters[c]` is article c's cluster of copies as a code (equal
    codes: copies of one story). `ordinals` and `at` are the passage map's ordinals of the
    articles and the database state they were read at, so the lead vectors can be read from
    the same map without strings (None when the codes come from SQL)."""

    passage_ids: np.ndarray
    codes: np.ndarray
    articles: list[str]
    clusters: np.ndarray
    ordinals: np.ndarray | None = None
    at: Any = None

    @classmethod
    def of(
        cls,
        passage_ids: Sequence[int] | np.ndarray,
        article_of: Mapping[int, str],
        cluster_of: Mapping[str, str] | None = None,
    ) -> Owners:
        """From passage id -> article id (and article id -> cluster id; an article without
        one is its own cluster, as search/collapse.py reads it). Articles are coded in the
        order they first appear."""
        ids = np.asarray(passage_ids, dtype=np.int64)
        index: dict[str, int] = {}
        codes = np.fromiter(
            (
                index.setdefault(a, len(index)) if (a := article_of.get(p)) is not None else -1
                for p in ids.tolist()
            ),
            np.int64,
            len(ids),
        )
        articles = list(index)
        cluster_of = cluster_of or {}
        names: dict[str, int] = {}
        clusters = np.fromiter(
            (names.setdefault(cluster_of.get(a, a), len(names)) for a in articles),
            np.int64,
            len(articles),
        )
        return cls(ids, codes, articles, clusters)

    def per_article(self, values: Mapping[str, Any], default: Any, dtype: Any) -> np.ndarray:
        """`values` (keyed by article id) as an array indexed by code."""
        return np.fromiter(
            (values.get(a, default) for a in self.articles), dtype, len(self.articles)
        )

    def codes_of(self, passage_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The article code of each of these passages (-1: not one of `passage_ids`, or gone)."""
        ids = np.asarray(passage_ids, dtype=np.int64)
        out = np.full(len(ids), -1, dtype=np.int64)
        if not len(self.passage_ids) or not len(ids):
            return out
        order = np.argsort(self.passage_ids, kind="stable")
        known = self.passage_ids[order]
        at = np.minimum(np.searchsorted(known, ids), len(known) - 1)
        hit = known[at] == ids
        out[hit] = self.codes[order[at[hit]]]
        return out


def first_seen(*lists: Sequence[tuple[int, float]]) -> np.ndarray:
    """The ids of ranked lists, each once, in the order they first appear."""
    ids = np.fromiter((p for ranked in lists for p, _ in ranked), np.int64)
    if not len(ids):
        return ids
    _, first = np.unique(ids, return_index=True)
    return ids[np.sort(first)]


def lead_arrays(
    found: tuple[Mapping[str, float], Mapping[str, int]], owners: Owners
) -> tuple[np.ndarray | None, np.ndarray]:
    """A lead lookup by article id (cosines, first passages) as arrays by code: the cosines
    (0.0 without a lead; None when no article has one) and first passage ids (-1: unknown)."""
    cosines, first = found
    by_code = owners.per_article(cosines, 0.0, np.float64) if cosines else None
    return by_code, owners.per_article(first, -1, np.int64)
