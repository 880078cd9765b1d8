"""Saved searches: a named query with its filters, and what is new for it since the last check.

`newsarchive watch add oil "oil prices" --source Reuters`, then `newsarchive watch check` after
each `follow` poll, is a news alert. A check lists the articles of the search's matching set
(the same set as `total`, search/matching.py) that were first stored after the previous check,
newest first, and records the generation it saw, so each new article is reported once and none
is missed: an article stored while a check runs is left for the next one. A new or replaced
saved search starts from "now": its first check reports what comes after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, Field, ValidationError

from ..errors import ArchiveError, InputError
from .browse import ArticleSummary, Copies, summary_of
from .matching import MatchScope, MatchSets
from .request import SearchRequest, describe

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_WATCHES = 1000
MAX_LISTED = 100  # new articles listed per check (all are counted)
# What a saved search keeps of a request: what it matches, not how a page of it is shown.
KEPT = {"query", "mode", "since", "until", "source", "where", "group", "collapse"}


class Watch(BaseModel):
    name: str
    request: dict[str, Any] = Field(
        description="The saved search: q, mode and filters, as a SearchRequest takes them."
    )
    created_at: str
    checked_at: str | None = Field(None, description="Time of the last check (UTC).")


class WatchCheck(BaseModel):
    name: str
    query: str
    new: int = Field(description="Articles of its matching set first stored since the last check.")
    results: list[ArticleSummary] = Field(description="The newest of them (at most 100).")
    since: str | None = Field(description="The previous check (null: when it was saved).")
    checked_at: str


class ChecksResponse(BaseModel):
    """`watch check --json` and `POST /watches/{name}/check`."""

    new: int = Field(description="New articles over the searches checked.")
    watches: list[WatchCheck]


class WatchTable(Protocol):
    """The store's side (store/watches.py)."""

    def put(self, name: str, request: str, generation: int) -> None: ...

    def rows(self, name: str | None = None) -> list[dict[str, Any]]: ...

    def count(self) -> int: ...

    def mark(self, name: str, generation: int) -> str: ...

    def delete(self, name: str) -> bool: ...

    def generation(self) -> int: ...


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(
            f"name: {str(name)[:80]!r} is not a saved-search name (1 to 64 letters, digits, "
            "'_', '-' or '.', starting with a letter or digit)"
        )
    return name


class Watches:
    """`archive.watches()`: add, list, check and remove saved searches.

    `scope_of` gives a request's matching set (it runs the ranking)."""

    def __init__(
        self,
        table: WatchTable,
        scope_of: Callable[[SearchRequest], MatchScope],
        matches: MatchSets,
        copies: Copies,
    ) -> None:
        self.table = table
        self.scope_of = scope_of
        self.matches = matches
        self.copies = copies

    def add(self, name: str, request: SearchRequest | str, **options: Any) -> Watch:
        """Save `request` (or a query and its options) as `name`, replacing one of that name."""
        check_name(name)
        if not isinstance(request, SearchRequest):
            request = SearchRequest.make(request, **options)
        request.filters().to_sql()  # a bad date is refused now, not at every check
        if not self.table.rows(name) and self.table.count() >= MAX_WATCHES:
            raise InputError(f"at most {MAX_WATCHES:,} saved searches; remove one first")
        kept = request.model_dump_json(by_alias=True, include=KEPT)
        self.table.put(name, kept, self.table.generation())
        return self._watch(self.table.rows(name)[0])

    def list(self) -> list[Watch]:
        return [self._watch(row) for row in self.table.rows()]

    def get(self, name: str) -> Watch | None:
        rows = self.table.rows(name)
        return self._watch(rows[0]) if rows else None

    def remove(self, name: str) -> bool:
        return self.table.delete(name)

    def check(self, name: str | None = None, *, limit: int = MAX_LISTED) -> ChecksResponse:
        """What is new for `name` (or every saved search) since its last check; marks it checked."""
        rows = self.table.rows(name)
        if name is not None and not rows:
            raise InputError(f"no saved search named {name!r}")
        checks = [self._check(row, limit) for row in rows]
        return ChecksResponse(new=sum(c.new for c in checks), watches=checks)

    def _check(self, row: dict[str, Any], limit: int) -> WatchCheck:
        watch, request = self._watch(row), self._request(row)
        seen = self.table.generation()  # what this check covers; later writes wait for the next
        scope = self.scope_of(request)
        scope = MatchScope(
            scope.query,
            scope.filters,
            scope.candidates,
            after_generation=int(row["checked_generation"]),
            until_generation=seen,
        )
        with self.matches.open(scope) as view:
            new = view.total
            rows = view.page("newest", None, limit)
        results = [summary_of(r, self.copies.copies_of(r["id"])) for r in rows]
        checked_at = self.table.mark(watch.name, seen)
        return WatchCheck(
            name=watch.name,
            query=request.query,
            new=new,
            results=results,
            since=watch.checked_at,
            checked_at=checked_at,
        )

    @staticmethod
    def _request(row: dict[str, Any]) -> SearchRequest:
        try:
            return SearchRequest.model_validate_json(row["request"])
        except ValidationError as exc:
            raise ArchiveError(
                f"saved search {row['name']!r} cannot be read: {describe(exc.errors())}"
            ) from None

    def _watch(self, row: dict[str, Any]) -> Watch:
        request = self._request(row)
        return Watch(
            name=row["name"],
            request=request.model_dump(mode="json", by_alias=True, include=KEPT),
            created_at=row["created_at"],
            checked_at=row["checked_at"],
        )
