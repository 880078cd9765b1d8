"""Similar stories: the articles closest to a stored article, or to a passage of text.

A stored article is searched with the mean of its passages' vectors (normalised): one vector
search. On Reuters (real model, 200 articles, bench/similar.py) it found stories sharing a topic
as often as searching with every passage and keeping each candidate's best match (precision@10
0.776 against 0.777), with one search instead of one per passage. The candidates are grouped by article (each shown with its best-matching
passage), the article itself and its near-copy cluster are left out (its exact copies are not
articles of their own, so they cannot appear), and the rest is collapsed like a search. Free text
is embedded as a query. Filters apply before ranking, as in search.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from pydantic import ConfigDict, Field, field_validator

from ..errors import InputError
from .collapse import collapse, group_by_article
from .filters import FIELD_RE
from .request import CANDIDATE_DEPTH, MAX_LIMIT, FilteredRequest, SearchResponse

if TYPE_CHECKING:
    from .searcher import Searcher

MAX_TEXT_CHARS = 10_000


class SimilarRequest(FilteredRequest):
    """Similar to a stored article (its id is given apart) or to `text`, with filters."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description="A passage to find similar stories to (the model reads its first ~250 words).",
    )
    limit: int = Field(10, ge=1, le=MAX_LIMIT, description="Results per page.")
    offset: int = Field(0, ge=0, description="Results to skip (paging).")
    since: str | None = Field(None, description="Only articles dated on/after (ISO date).")
    until: str | None = Field(None, description="Only articles dated on/before (ISO date).")
    source: list[str] = Field(default_factory=list, description="Only these sources.")
    where: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Metadata filters, e.g. {"topics": ["grain"]}.',
        json_schema_extra={"propertyNames": {"pattern": FIELD_RE.pattern}},
    )
    collapse: bool = Field(True, description="Syndicated copies as one result.")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("text is empty")
        return value

    @classmethod
    def make(cls, **options: Any) -> SimilarRequest:
        """Build from keyword arguments; a bad value is one InputError naming the field."""
        return cls.build(**options)


class StoredArticles(Protocol):
    """What similar reads of the store (store/explore.py implements it)."""

    def resolve(self, article_id: str) -> str | None: ...

    def article_vectors(self, article_id: str) -> tuple[np.ndarray, np.ndarray]: ...

    def cluster_members(self, article_id: str) -> list[str]: ...


def article_vector(vectors: np.ndarray) -> np.ndarray:
    """One vector for a whole article: the normalised mean of its passages'."""
    mean = vectors.astype(np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm else mean


def similar(
    searcher: Searcher,
    stored: StoredArticles,
    request: SimilarRequest,
    article_id: str | None = None,
) -> SearchResponse:
    """Articles like the stored `article_id`, or like `request.text`."""
    started = time.perf_counter()
    if (article_id is None) == (request.text is None):
        raise InputError("similar: give an article id or a text, not both")
    exclude: set[str] = set()
    if article_id is not None:
        owner = stored.resolve(article_id)
        if owner is None:
            raise InputError(f"no article with id {article_id!r}")
        _, vectors = stored.article_vectors(owner)
        if not len(vectors):
            raise InputError(f"article {article_id!r} has no passages to compare")
        vector, exclude = article_vector(vectors), set(stored.cluster_members(owner))
        label = article_id
    else:
        vector, label = searcher.encode_query(request.text), request.text
    catalog = searcher.catalog
    allowed = catalog.allowed_passages(request.filters())
    ranked = searcher.vector_search(vector, CANDIDATE_DEPTH, allowed)
    article_of = catalog.article_ids([pid for pid, _ in ranked])
    ranked = [(pid, s) for pid, s in ranked if article_of.get(pid) not in exclude]
    ranked, others = group_by_article(ranked, article_of)
    if request.collapse:
        ranked = collapse(
            ranked, article_of, catalog.clusters_of([article_of[p] for p, _ in ranked])
        )
    page = ranked[request.offset : request.offset + request.limit]
    return SearchResponse(
        query=label,
        mode="semantic",
        total=len(ranked),
        pageable=len(ranked),
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        results=searcher.make_hits(page, "", others),
    )
