"""Pydantic models for every request and response, so /docs documents the whole API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["hybrid", "semantic", "keyword"]


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=1, max_length=1000, description="The query, in plain words.")
    limit: int = Field(10, ge=1, le=100)
    offset: int = Field(0, ge=0)
    mode: Mode = "hybrid"
    since: str | None = Field(None, description="Only articles dated on/after (ISO date).")
    until: str | None = Field(None, description="Only articles dated on/before (ISO date).")
    source: list[str] = Field(default_factory=list, description="Only these sources.")
    where: dict[str, str | list[str]] = Field(
        default_factory=dict, description='Metadata filters, e.g. {"topics": ["grain"]}.'
    )
    group: bool = Field(True, description="One result per article (best passage).")
    collapse: bool = Field(
        True, description="Syndicated copies of one story as one result, naming them in also_in."
    )


class ArticleRef(BaseModel):
    id: str
    title: str | None = None
    author: str | None = None
    source: str | None = None
    date: str | None = None
    url: str | None = None


class SearchResult(BaseModel):
    passage_id: int
    score: float
    text: str
    position: int
    snippet: str
    highlights: list[tuple[int, int]] = Field(description="[start, end) spans of the snippet.")
    other_passages: list[int] = Field(default_factory=list)
    also_in: list[str] = Field(default_factory=list)
    article: ArticleRef


class SearchResponse(BaseModel):
    query: str
    mode: Mode
    total: int = Field(description="Results available for paging (one per article by default).")
    took_ms: float
    results: list[SearchResult]


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
    id: str
    title: str
    author: str | None = None
    source: str | None = None
    date: str | None = None
    date_raw: str | None = None
    url: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    ingested_at: str
    updated_at: str
    passages: list[Passage]


class IngestResult(BaseModel):
    articles: int
    new: int
    changed: int
    unchanged: int
    updated_metadata: int
    passages_embedded: int
    seconds: float
    errors: list[str]
    warnings: list[str]


class Deleted(BaseModel):
    deleted: str


class Stats(BaseModel):
    model_config = ConfigDict(extra="allow")

    articles: int
    passages: int
    first_date: str | None = None
    last_date: str | None = None
    sources: dict[str, int]


class Health(BaseModel):
    status: Literal["ok"]
    articles: int
    generation: int


class Error(BaseModel):
    error: str
