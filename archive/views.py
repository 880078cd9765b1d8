"""The keyword index and the passage map as search sees them: the keyword retriever that asks
tantivy first and FTS5 otherwise, and the store's catalog with grouping and date/source filters
answered by the passage map. Wiring only; the views themselves are in index/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..index.keywords import KeywordFilter, KeywordView
from ..index.passage_map import PassageMap
from .dates import normalise_bound
from .search.collapse import Ranked
from .search.filters import Filters
from .store import KeywordIndex, Store


class KeywordSearch:
    """search/searcher.py's KeywordSearch: tantivy for archives past its threshold, FTS5 for
    smaller ones and for any query whose filters tantivy cannot say exactly."""

    def __init__(self, keywords: KeywordView, fts5: KeywordIndex) -> None:
        self.keywords = keywords
        self.fts5 = fts5

    def __call__(self, query: str, filters: Filters, depth: int) -> Ranked:
        wanted = KeywordFilter(
            since=normalise_bound(filters.since),
            until=normalise_bound(filters.until, end=True),
            sources=list(filters.sources),
            where=dict(filters.where),
        )
        found = self.keywords.search(query, wanted, depth)
        return found if found is not None else self.fts5(query, filters, depth)


class MappedCatalog:
    """The store's reads for search (search/searcher.py's PassageCatalog), with passage ->
    article -> cluster and the passages of date/source filters read from the passage map."""

    def __init__(self, store: Store, passage_map: PassageMap) -> None:
        self.store = store
        self.passage_map = passage_map

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def allowed_passages(self, filters: Filters) -> np.ndarray | None:
        if filters.is_empty():
            return None
        if not filters.where:  # metadata filters stay SQL
            found = self.passage_map.current().allowed_ids(
                normalise_bound(filters.since),
                normalise_bound(filters.until, end=True),
                filters.sources,
            )
            if found is not None:
                return found
        return self.store.allowed_passages(filters)

    def article_ids(self, passage_ids: Sequence[int]) -> dict[int, str]:
        return self.passage_map.current().article_ids_of(passage_ids)

    def clusters_of(self, article_ids: Sequence[str]) -> dict[str, str]:
        return self.passage_map.clusters_of(article_ids)
