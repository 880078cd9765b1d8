"""Facets: how the matching set divides by source, author or any metadata field (topics,
places, category, tags...), the top values with an `other` and a `missing` count.

The store counts with SQL (GROUP BY over columns, `json_each` over metadata); this module checks
the field names and assembles the answer. Selecting a value is a filter: `source=` for the
source facet, `where=FIELD=VALUE` for the others.

The counts add up: for a field with one value per article, the values + `other` + `missing`
equal `total`. A list field (Reuters' `topics`) counts an article once under each of its values,
as Elasticsearch's terms aggregation does, so there they add up to at least `total`; `missing`
is always the articles without the field.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

from ..errors import InputError
from .filters import FIELD_RE

MAX_FACETS = 10
MAX_FACET_SIZE = 100
COLUMN_FACETS = ("source", "author")  # columns of the articles table; the rest is metadata
NOT_FACETS = {
    "id": "every article has its own id",
    "title": "titles are unique to their article",
    "url": "URLs are unique to their article",
    "date": "use the timeline for dates",
}


class FacetValue(BaseModel):
    value: str
    count: int


class Facet(BaseModel):
    values: list[FacetValue] = Field(default_factory=list, description="Top values, most first.")
    other: int = Field(0, description="Counts of the values beyond the top ones.")
    missing: int = Field(0, description="Matching articles without this field.")


class FacetView(Protocol):
    """What facets read of a matching set (store/explore.py implements it)."""

    total: int

    def facet(self, field: str, size: int) -> tuple[list[tuple[str, int]], int, int]:
        """(top `size` (value, articles), sum of every value's count, articles with a value)."""
        ...


def check_facet(name: str) -> str:
    """A field that can be a facet, or an InputError naming it."""
    if not isinstance(name, str) or not FIELD_RE.match(name):
        raise InputError(
            f"facets: {str(name)[:80]!r} is not a field name (letters, digits and _, "
            "starting with a letter)"
        )
    if name in NOT_FACETS:
        raise InputError(f"facets: {name!r} cannot be a facet ({NOT_FACETS[name]})")
    return name


def check_facets(names: list[str]) -> list[str]:
    fields = list(dict.fromkeys(check_facet(n) for n in names))
    if len(fields) > MAX_FACETS:
        raise InputError(f"facets: {len(fields)} fields asked; at most {MAX_FACETS}")
    return fields


def facets_of(view: FacetView, fields: list[str], size: int) -> dict[str, Facet]:
    out: dict[str, Facet] = {}
    for field in fields:
        top, counted, with_value = view.facet(field, size)
        values = [FacetValue(value=str(v), count=int(n)) for v, n in top]
        shown = sum(v.count for v in values)
        out[field] = Facet(
            values=values, other=max(counted - shown, 0), missing=max(view.total - with_value, 0)
        )
    return out


class FacetsResponse(BaseModel):
    """`archive.facets()`, `newsarchive facets --json`, `GET /facets`."""

    total: int = Field(description="Articles in the matching set.")
    facets: dict[str, Facet]
