"""The API's own request and response models, so /docs documents every field.

Search requests and responses are the library's (`SearchRequest`, `SearchResponse`); the
models here describe the other endpoints, and tests check that they carry every field the
library returns.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..archive import MAX_LIMIT, MAX_QUERY_CHARS, Copy, SearchRequest, TimelineOption


class SearchParams(BaseModel):
    """GET /search's query parameters: the fields of `SearchRequest`, with `where` as
    repeatable FIELD=VALUE strings."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="The query.")
    limit: int = Field(10, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)
    mode: Literal["hybrid", "semantic", "keyword"] = "hybrid"
    since: str | None = None
    until: str | None = None
    source: list[str] = Field(default_factory=list, description="Repeatable.")
    where: list[str] = Field(default_factory=list, description="FIELD=VALUE, repeatable.")
    group: bool = True
    collapse: bool = True
    sort: Literal["relevance", "newest", "oldest"] = "relevance"
    after: str | None = Field(None, description="A previous response's `next`.")
    facets: list[str] = Field(default_factory=list, description="Repeatable.")
    facet_size: int = Field(10, ge=1, le=100)
    timeline: TimelineOption | None = None

    def to_request(self) -> SearchRequest:
        options = self.model_dump(exclude={"q"})
        return SearchRequest.make(self.q, **options)


class ArticleIn(BaseModel):
    """Same fields as a JSONL line; unknown fields are kept as metadata."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    title: str = ""
    body: str | None = None
    paragraphs: list[str] | None = None
    date: str | None = None
    source: str | None = None
    url: str | None = None
    author: str | None = None


class Passage(BaseModel):
    id: int
    position: int
    text: str


class ArticleOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    title: str
    author: str | None = None
    source: str | None = None
    date: str | None = None
    date_raw: str | None = None
    url: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    text_hash: str
    meta_hash: str
    passage_count: int
    ingested_at: str
    updated_at: str
    generation: int = Field(0, description="The database generation that first stored it.")
    cluster_id: str = Field(description="The cluster of near copies the article belongs to.")
    copies: list[Copy] = Field(default_factory=list)
    copy_id: str | None = Field(
        None,
        alias="copy",
        description="When the id asked for is an exact copy: that id (this is its article).",
    )
    passages: list[Passage]


class IngestResult(BaseModel):
    articles: int
    new: int
    changed: int
    unchanged: int
    updated_metadata: int
    exact_copies: int
    passages_embedded: int
    seconds: float
    errors: list[str]
    warnings: list[str]


class Deleted(BaseModel):
    deleted: str


class Stats(BaseModel):
    articles: int
    passages: int
    first_date: str | None = None
    last_date: str | None = None
    sources: dict[str, int] = Field(description="Articles per source, the 20 largest.")
    exact_copies: int
    near_duplicate_clusters: int
    clustered_articles: int
    path: str
    model: str | None = None
    backend: str | None = None
    index: str | None = None
    dimension: int | None = None
    generation: int
    schema_version: int
    database_bytes: int
    index_bytes: int


class Health(BaseModel):
    status: Literal["ok"]
    articles: int
    generation: int


class Error(BaseModel):
    error: str
