"""The matching set: the one definition behind `total`, facets, timelines, date order, export and
saved searches, so they all agree with one another.

For a query with filters, the matching set is the articles that pass the filters and either

  (a) contain every content word of the query: an AND of the query's keyword terms (quoted
      phrases kept as phrases, words stemmed as the keyword index stems them) over the article's
      passages, so the words may sit in different paragraphs of one article; or
  (b) are among the keyword candidates the ranking uses: the articles of the best
      CANDIDATE_DEPTH passages by BM25 for any of the query's words (the best partial matches).

Without a query (browsing), it is every article that passes the filters. `total` is its size in
articles; `pageable` (in a search response) is how many results relevance order can page
through. The semantic candidates are not part of the set: at the ranking depth they hold every
article of a small archive whatever the query, and a cosine cut-off would depend on the model.
So a result found only by meaning (sharing no word with the query) can be paged to in relevance
order but is not counted in `total`, facets or timelines, nor listed in date order; and the set,
being made of words, is the same in every mode and needs no model.

The store materialises the set once per request (store/explore.py) and answers the counts,
buckets, facets and date-ordered pages from it with SQL; nothing here touches SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from .cursor import DateKey
from .facets import Facet, FacetView, facets_of
from .filters import Filters
from .timeline import Timeline, TimelineView, timeline_of

DATE_ORDERS = ("newest", "oldest")


@dataclass(frozen=True)
class MatchScope:
    """What defines one matching set."""

    query: str | None  # None: browse, every article passing the filters
    filters: Filters
    candidates: tuple[str, ...] = ()  # article ids of the keyword candidates (filters applied)
    # Only articles first stored in (after_generation, until_generation]: a saved search's "new".
    after_generation: int | None = None
    until_generation: int | None = None


@dataclass(frozen=True)
class EveryWord:
    """Part (a) of a query's set, found ahead of `count`: the store's SELECT of article ids and
    its parameters, and the archive state (`at`) it was read at."""

    query: str
    select: str
    params: tuple[Any, ...]
    at: Any


class MatchView(TimelineView, FacetView, Protocol):
    """One materialised matching set, read inside one consistent snapshot."""

    total: int

    def page(self, order: str, after: DateKey | None, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` articles in date order (`newest`/`oldest`, ties by id, undated last)
        after `after`: dicts of id, title, author, source, date, url, passage_count, metadata."""
        ...


class MatchSets(Protocol):
    """The store's side (store/explore.py)."""

    def count(self, scope: MatchScope, early: EveryWord | None = None) -> int:
        """The set's size; `early` is part (a) as `every_word` found it beforehand (used only
        if the archive has not changed since, else found again)."""
        ...

    def every_word(self, query: str) -> EveryWord:
        """Part (a) of a query's set on its own (it needs only the query), so a search can
        find it beside its retrievals and pass it to `count`."""
        ...

    def open(self, scope: MatchScope) -> AbstractContextManager[MatchView]: ...

    def passages_of(self, article_ids: Sequence[str]) -> list[tuple[int, str, int, str]]:
        """(passage id, article id, position, text) of these articles, in reading order."""
        ...


@dataclass
class Summary:
    total: int
    facets: dict[str, Facet]
    timeline: Timeline | None


def summarise(
    matches: MatchSets,
    scope: MatchScope,
    facets: Sequence[str] = (),
    size: int = 10,
    timeline: str | None = None,
) -> Summary:
    """The total, facets and timeline of one matching set, read in one snapshot."""
    with matches.open(scope) as view:
        return Summary(
            total=view.total,
            facets=facets_of(view, list(facets), size),
            timeline=timeline_of(view, timeline) if timeline else None,
        )
