"""Browsing: the articles that pass some filters, in date order, without a query.

`newsarchive list --since 1987-03 --source Reuters` and `GET /articles?...` list one page of
`ArticleSummary` records and a cursor to the next, walking the whole set by keyset (date, id),
so an app can page through every article of a day or a source. The matching set of a browse is
every article that passes the filters; its timeline and facets come from the same reads.
"""

from __future__ import annotations

import time
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .collapse import also_in
from .cursor import MAX_CURSOR_CHARS, fingerprint
from .facets import MAX_FACET_SIZE, Facet, facets_of
from .matching import MatchScope, MatchSets
from .order import date_page
from .request import MAX_LIMIT, FilteredRequest, SearchRequest
from .timeline import Timeline, TimelineOption, timeline_of

BROWSE_LIMIT = 20


class BrowseRequest(FilteredRequest):
    """Filters, date order and paging, without a query."""

    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(None, description="Only articles dated on/after (ISO date).")
    until: str | None = Field(None, description="Only articles dated on/before (ISO date).")
    source: list[str] = Field(default_factory=list, description="Only these sources.")
    where: dict[str, list[str]] = Field(
        default_factory=dict, description='Metadata filters, e.g. {"topics": ["grain"]}.'
    )
    sort: Literal["newest", "oldest"] = Field("newest", description="Date order; undated last.")
    limit: int = Field(BROWSE_LIMIT, ge=1, le=MAX_LIMIT, description="Articles per page.")
    after: str | None = Field(
        None, max_length=MAX_CURSOR_CHARS, description="A previous response's `next`."
    )
    facets: list[str] = Field(
        default_factory=list, description="Fields to count the articles by (as in a search)."
    )
    facet_size: int = Field(10, ge=1, le=MAX_FACET_SIZE, description="Values per facet.")
    timeline: TimelineOption | None = Field(
        None, description="Articles per period (as in a search)."
    )

    # The same readings of `source` and `where` as a search's.
    @field_validator("facets", mode="before")
    @classmethod
    def _facets(cls, value: Any) -> Any:
        return SearchRequest._facets(value)

    @classmethod
    def make(cls, **options: Any) -> BrowseRequest:
        """Build from keyword arguments; a bad value is one InputError naming the field."""
        return cls.build(**options)

    def order_key(self) -> str:
        return fingerprint([self.sort, None, self.since, self.until, self.source, self.where])


class ArticleSummary(BaseModel):
    """One article in a list: its fields, not its text."""

    id: str
    title: str | None = None
    author: str | None = None
    source: str | None = None
    date: str | None = None
    url: str | None = None
    passage_count: int = 0
    also_in: list[str] = Field(default_factory=list, description="Outlets of its copies.")


class BrowseResponse(BaseModel):
    sort: Literal["newest", "oldest"] = "newest"
    total: int = Field(description="Articles passing the filters.")
    took_ms: float = 0.0
    results: list[ArticleSummary]
    next: str | None = Field(
        None, description="Cursor of the next page (`after`); null at the end."
    )
    facets: dict[str, Facet] = Field(default_factory=dict, description="Counts asked in `facets`.")
    timeline: Timeline | None = Field(None, description="Asked in `timeline`.")


class Copies(Protocol):
    def copies_of(self, article_id: str) -> list[dict[str, Any]]: ...


def explore_request(query: str | None, **options: Any) -> SearchRequest | BrowseRequest:
    """A search when there is a query, else a browse: the two kinds of matching set."""
    if query is None or (isinstance(query, str) and not query.strip()):
        options.pop("mode", None)
        return BrowseRequest.make(**options)
    return SearchRequest.make(query, **options)


def summary_of(row: dict[str, Any], copies: list[dict[str, Any]]) -> ArticleSummary:
    fields = {k: row.get(k) for k in ("id", "title", "author", "source", "date", "url")}
    return ArticleSummary(
        **fields, passage_count=int(row.get("passage_count") or 0), also_in=also_in(row, copies)
    )


def browse(matches: MatchSets, copies: Copies, request: BrowseRequest) -> BrowseResponse:
    started = time.perf_counter()
    with matches.open(MatchScope(None, request.filters())) as view:
        total = view.total
        rows, cursor = date_page(
            view, request.sort, request.after, request.limit, request.order_key()
        )
        facets = facets_of(view, request.facets, request.facet_size)
        timeline = timeline_of(view, request.timeline) if request.timeline else None
    results = [summary_of(row, copies.copies_of(row["id"])) for row in rows]
    return BrowseResponse(
        sort=request.sort,
        total=total,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        results=results,
        next=cursor,
        facets=facets,
        timeline=timeline,
    )
