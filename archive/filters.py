"""Filters that restrict the candidate set *before* ranking.

Applying a date or source filter after a top-k vector search returns fewer than k results (or
none) when the matching articles rank low; we instead turn the filter into SQL and hand the
matching passage ids to both retrievers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .dates import normalise_bound
from .models import InputError

_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_COLUMNS = {"id", "title", "author", "source", "url", "date"}


@dataclass
class Filters:
    since: str | None = None
    until: str | None = None
    sources: list[str] = field(default_factory=list)
    where: dict[str, list[str]] = field(default_factory=dict)

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
            clauses.append(f"lower({alias}.source) IN ({','.join('?' * len(self.sources))})")
            params.extend(s.lower() for s in self.sources)
        for key, values in self.where.items():
            marks = ",".join("?" * len(values))
            if key in _COLUMNS:
                clauses.append(f"{alias}.{key} IN ({marks})")
            else:
                # Metadata is JSON; json_each matches a scalar field and any element of a list.
                clauses.append(
                    f"EXISTS (SELECT 1 FROM json_each({alias}.metadata, '$.{key}') "
                    f"WHERE CAST(value AS TEXT) IN ({marks}))"
                )
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
        if not sep or not _FIELD_RE.match(key):
            raise InputError(f"--where {expression!r}: expected FIELD=VALUE, e.g. topics=grain")
        where.setdefault(key, []).append(value.strip())
    return where
