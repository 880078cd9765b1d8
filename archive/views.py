"""The keyword index and the passage map as search sees them: the keyword retriever that asks
tantivy first and FTS5 otherwise, the same for the leads' keyword list (`LeadSearch`), and the
store's catalog with grouping and date filters answered by the passage map. Wiring only; the
views themselves are in index/.

Source and `where` filters stay SQL (FTS5, `Store.allowed_passages`): a source matches an
outlet's other names (`source_aliases`) and `where` values fold case, which the views do not
hold. Date bounds are read by archive/dates.py, exactly as the SQL filter reads them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..index.keywords import KeywordFilter, KeywordView
from ..index.passage_map import PassageMap
from .dates import date_range
from .search.collapse import Ranked
from .search.filters import Filters
from .search.fusion import LEAD_DEPTH
from .search.owners import Owners, lead_arrays
from .store import KeywordIndex, LeadIndex, Store


class KeywordSearch:
    """search/searcher.py's KeywordSearch: tantivy for archives past its threshold, FTS5 for
    smaller ones and for any query whose filters tantivy cannot say exactly."""

    def __init__(self, keywords: KeywordView, fts5: KeywordIndex) -> None:
        self.keywords = keywords
        self.fts5 = fts5

    def __call__(self, query: str, filters: Filters, depth: int) -> Ranked:
        found = _from_index(self.keywords, query, filters, depth)
        return found if found is not None else self.fts5(query, filters, depth)


class LeadSearch:
    """search/searcher.py's LeadEvidence: the leads' keyword list from their tantivy index
    (large archives: index/keywords/, keyed by each article's first passage id, mapped back to
    the article by the passage map), from FTS5 (`leads_fts`) for small archives and for any
    query the index cannot answer exactly; the lead vectors from the passage map's copy."""

    def __init__(self, keywords: KeywordView, leads: LeadIndex, passage_map: PassageMap) -> None:
        self.keywords = keywords
        self.fts5 = leads
        self.passage_map = passage_map

    def keyword(
        self, query: str, filters: Filters, depth: int = LEAD_DEPTH
    ) -> list[tuple[str, float]]:
        found = _from_index(self.keywords, query, filters, depth)
        if found is None:
            return self.fts5.keyword(query, filters, depth)
        owners = self.passage_map.current().article_ids_of([pid for pid, _ in found])
        return [(owners[pid], score) for pid, score in found if pid in owners]

    def lookup(
        self, query_vector: np.ndarray, article_ids: Sequence[str]
    ) -> tuple[dict[str, float], dict[str, int]]:
        """From the passage map's lead vectors (in memory, kept in step with the database:
        ~940 rows of 1.5 KB read from SQLite cost ~8 ms of CPU per query at 1M); from the
        store when the map cannot answer (leads of mixed sizes while re-embedding)."""
        found = self.passage_map.current().lead_cosines(query_vector, article_ids)
        return found if found is not None else self.fts5.lookup(query_vector, article_ids)

    def for_owners(
        self, query_vector: np.ndarray, owners: Owners
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """`lookup` by article code (search/searcher.py's LeadEvidence): from the map's
        arrays when the codes are the map's at its current state, else by article id."""
        if owners.ordinals is not None:
            found = self.passage_map.lead_arrays(query_vector, owners.ordinals, owners.at)
            if found is not None:
                cosines, has_lead, first = found
                return (cosines if has_lead.any() else None), first
        return lead_arrays(self.lookup(query_vector, owners.articles), owners)


def _from_index(keywords: KeywordView, query: str, filters: Filters, depth: int) -> Ranked | None:
    """A keyword view's answer (id, BM25), or None where FTS5 must answer: filters on sources
    or `where` (SQL only), or the view has no usable index for this query."""
    if filters.sources or filters.where:
        return None
    since, until = _date_bounds(filters)
    return keywords.search(query, KeywordFilter(since=since, until=until), depth)


def _date_bounds(filters: Filters) -> tuple[str | None, str | None]:
    return date_bounds(filters.since, filters.until)


def date_bounds(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """A filter's date bounds as the views compare them, read as the SQL filter reads them
    (index/article_fields.py orders them as SQLite orders the strings)."""
    return date_range(since, until)


class MappedCatalog:
    """The store's reads for search (search/searcher.py's PassageCatalog), with passage ->
    article -> cluster and the passages of date filters read from the passage map."""

    def __init__(self, store: Store, passage_map: PassageMap) -> None:
        self.store = store
        self.passage_map = passage_map

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def allowed_passages(self, filters: Filters) -> np.ndarray | None:
        if filters.is_empty():
            return None
        if not (filters.sources or filters.where):  # source and metadata filters stay SQL
            found = self.passage_map.current().allowed_ids(*_date_bounds(filters), [])
            if found is not None:
                return found
        return self.store.allowed_passages(filters)

    def article_ids(self, passage_ids: Sequence[int]) -> dict[int, str]:
        return self.passage_map.current().article_ids_of(passage_ids)

    def positions_of(self, passage_ids: Sequence[int]) -> dict[int, int]:
        """passage id -> its position in its article (0 first), for the passages that exist:
        what article-level fusion reads beside `article_ids`, without a store read."""
        found = self.passage_map.current().positions(passage_ids).tolist()
        return {int(p): pos for p, pos in zip(passage_ids, found) if pos >= 0}

    def clusters_of(self, article_ids: Sequence[str]) -> dict[str, str]:
        return self.passage_map.clusters_of(article_ids)

    def owners(self, passage_ids: np.ndarray) -> Owners:
        """The articles and clusters of these passages as codes, from the map's arrays."""
        codes, ordinals, articles, clusters, at = self.passage_map.current().owner_codes(
            passage_ids
        )
        return Owners(np.asarray(passage_ids, np.int64), codes, articles, clusters, ordinals, at)
