"""Filters that restrict the candidate set *before* ranking.

Applying a date or source filter after a top-k vector search returns fewer than k results (or
none) when the matching articles rank low; instead the filter becomes SQL over the articles
table and both retrievers search only the matching passages.

Every user value reaches SQL as a bound parameter, including the JSON path of a metadata field;
field names are checked here, the one place that builds filters, for every face.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..dates import normalise_bound
from ..errors import InputError

FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
COLUMNS = {"id", "title", "author", "source", "url", "date"}  # the rest is metadata


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

    def to_sql(self, alias: str = "a") -> tuple[str, list[Any]]:
        """A WHERE fragment over the articles table (alias `a`) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.since:
            clauses.append(f"{alias}.date >= ?")
            params.append(normalise_bound(self.since))
        if self.until:
            clauses.append(f"{alias}.date <= ?")
            params.append(normalise_bound(self.until, end=True))
        if self.sources:
            # NOCASE folds ASCII case as lower() did, and lets the articles(source COLLATE NOCASE,
            # date, id) index answer counts and date-ordered pages of a source on its own.
            marks = ",".join("?" * len(self.sources))
            clauses.append(f"{alias}.source COLLATE NOCASE IN ({marks})")
            params.extend(s.lower() for s in self.sources)
        for key, values in self.where.items():
            marks = ",".join("?" * len(values))
            if key in COLUMNS:
                clauses.append(f"{alias}.{key} IN ({marks})")
            else:
                # Metadata is JSON; json_each matches a scalar field and any element of a list.
                clauses.append(
                    f"EXISTS (SELECT 1 FROM json_each({alias}.metadata, ?) "
                    f"WHERE CAST(value AS TEXT) IN ({marks}))"
                )
                params.append(f'$."{check_field(key)}"')
            params.extend(values)
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
            raise InputError(f"--where {expression!r}: expected FIELD=VALUE, e.g. topics=grain")
        where.setdefault(key, []).append(value.strip())
    return where
