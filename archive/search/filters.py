"""Filters that restrict the candidate set *before* ranking.

Applying a date or source filter after a top-k vector search returns fewer than k results (or
none) when the matching articles rank low; instead the filter becomes SQL over the articles
table and both retrievers search only the matching passages.

Every user value reaches SQL as a bound parameter, including the JSON path of a metadata field;
field names are checked here, the one place that builds filters, for every face. A filter that
can only match nothing because of a mistake is an error, not an empty page: a field the archive
does not have (the message lists those it has), an unreadable or ambiguous date, an inverted
date range. Values match case-insensitively (ASCII letters, as SQLite's `lower()` folds them),
and `source` matches an outlet's name, its registered domain, its own site name or the title of
the feed an article came from (the store keeps those other names in `source_aliases`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..dates import date_range
from ..errors import InputError

FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
COLUMNS = {"id", "title", "author", "source", "url", "date"}  # the rest is metadata
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(value: str) -> str:
    """Lower-case the way SQLite's lower() does (ASCII letters only), so both sides agree."""
    return str(value).translate(_ASCII_LOWER)


def check_field(name: str) -> str:
    """A filterable field name, or an InputError naming it."""
    if not isinstance(name, str) or not FIELD_RE.match(name):
        raise InputError(
            f"where: {str(name)[:80]!r} is not a field name (letters, digits and _, "
            "starting with a letter)"
        )
    return name


@dataclass
class Filters:
    since: str | None = None
    until: str | None = None
    sources: list[str] = field(default_factory=list)
    where: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in self.where:
            check_field(key)

    def is_empty(self) -> bool:
        return not (self.since or self.until or self.sources or self.where)

    def check(self, known_fields: set[str] | None = None) -> None:
        """Raise InputError for a filter that is a mistake: a bad date or range, or (given the
        archive's fields) a field it does not have."""
        date_range(self.since, self.until)
        if known_fields is None:
            return
        known = COLUMNS | {name for name in known_fields if FIELD_RE.match(name)}
        unknown = [key for key in self.where if key not in known]
        if unknown:
            names = ", ".join(repr(k) for k in unknown)
            raise InputError(
                f"where: no field {names} in this archive; known fields: "
                + ", ".join(sorted(known))
            )

    def to_sql(self, alias: str = "a") -> tuple[str, list[Any]]:
        """A WHERE fragment over the articles table (alias `a`) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        since, until = date_range(self.since, self.until)
        if since:
            clauses.append(f"{alias}.date >= ?")
            params.append(since)
        if until:
            clauses.append(f"{alias}.date <= ?")
            params.append(until)
        if self.sources:
            # Both branches read the articles(source COLLATE NOCASE, date, id) index: a name
            # given, or the source it is another name of (an outlet's domain or site name:
            # all of that outlet); a feed's title: the outlet's articles from that feed.
            names = json.dumps([fold(s) for s in self.sources])
            given = "SELECT value FROM json_each(?)"
            clauses.append(
                f"({alias}.source COLLATE NOCASE IN ({given} UNION SELECT source FROM "
                f"source_aliases WHERE kind != 'feed_title' AND alias IN ({given})) OR "
                f"({alias}.source COLLATE NOCASE IN (SELECT source FROM source_aliases WHERE "
                f"kind = 'feed_title' AND alias IN ({given})) AND "
                f"lower(json_extract({alias}.metadata, '$.feed_title')) IN ({given})))"
            )
            params.extend([names] * 4)
        for key, values in self.where.items():
            marks = ",".join("?" * len(values))
            if key in COLUMNS:
                clauses.append(f"lower({alias}.{key}) IN ({marks})")
            else:
                # Metadata is JSON; json_each matches a scalar field and any element of a list.
                clauses.append(
                    f"EXISTS (SELECT 1 FROM json_each({alias}.metadata, ?) "
                    f"WHERE lower(CAST(value AS TEXT)) IN ({marks}))"
                )
                params.append(f'$."{check_field(key)}"')
            params.extend(fold(v) for v in values)
        return (" AND ".join(clauses) or "1"), params


def parse_where(expressions: list[str] | None) -> dict[str, list[str]]:
    """['topics=grain', 'topics=wheat', 'places=usa'] -> {'topics': ['grain','wheat'], ...}.

    Repeating a field means any of the values (OR); different fields must all match (AND).
    """
    where: dict[str, list[str]] = {}
    for expression in expressions or []:
        key, sep, value = expression.partition("=")
        key = key.strip()
        if not sep or not FIELD_RE.match(key):
            raise InputError(f"where: {expression!r} is not FIELD=VALUE (e.g. topics=grain)")
        where.setdefault(key, []).append(value.strip())
    return where
