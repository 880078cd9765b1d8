"""The API's own request and response models, so /docs documents every field.

Search requests and responses are the library's (`SearchRequest`, `SearchResponse`); the
models here describe the other endpoints, and tests check that they carry every field the
library returns.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..archive import (
    FIELD_RE,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    NOT_BLANK,
    Copy,
    SearchRequest,
    TimelineOption,
    parse_where,
    surrogate_field,
    surrogate_message,
)

MAX_ARTICLES_PER_POST = 1000
WHERE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}="  # FIELD=VALUE
# Items of GET list parameters, with the patterns the archive checks (so the schema says them)
WhereItem = Annotated[str, Field(json_schema_extra={"pattern": WHERE_PATTERN})]
FieldItem = Annotated[str, Field(json_schema_extra={"pattern": FIELD_RE.pattern})]
_NAME = FIELD_RE.pattern.strip("^$")
FieldList = Annotated[str, Field(json_schema_extra={"pattern": f"^ *{_NAME}( *, *{_NAME})* *$"})]


class SearchParams(BaseModel):
    """GET /search's query parameters: the fields of `SearchRequest`, with `where` as
    repeatable FIELD=VALUE strings."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        description="The query.",
        json_schema_extra={"pattern": NOT_BLANK.pattern},  # not blank
    )
    limit: int = Field(10, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)
    mode: Literal["hybrid", "semantic", "keyword"] = "hybrid"
    fusion: Literal["score", "rrf", "rrf60"] = "score"
    since: str | None = None
    until: str | None = None
    source: list[str] = Field(default_factory=list, description="Repeatable.")
    where: list[Annotated[str, Field(json_schema_extra={"pattern": WHERE_PATTERN})]] = Field(
        default_factory=list, description="FIELD=VALUE, repeatable."
    )
    group: bool = True
    collapse: bool = True
    sort: Literal["relevance", "newest", "oldest"] = "relevance"
    after: str | None = Field(None, description="A previous response's `next`.")
    facets: list[FieldItem] = Field(default_factory=list, max_length=10, description="Repeatable.")
    facet_size: int = Field(10, ge=1, le=100)
    timeline: TimelineOption | None = None

    @field_validator("q")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not NOT_BLANK.search(value):
            raise ValueError("query is empty")
        return value

    @field_validator("where")
    @classmethod
    def _where(cls, value: list[str]) -> list[str]:
        parse_where(value)  # the library's check and message (422: outside the schema)
        return value

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

    @model_validator(mode="after")
    def _text(self) -> ArticleIn:
        bad = surrogate_field({**self.model_dump(), **(self.model_extra or {})})
        if bad:
            raise ValueError(surrogate_message(bad))
        return self


ArticleList = Annotated[list[ArticleIn], Field(min_length=1, max_length=MAX_ARTICLES_PER_POST)]


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
    errors: list[str] = Field(description="The first 100 error messages.")
    warnings: list[str] = Field(description="The first 100 warnings.")
    error_count: int = Field(description="Every error, counted.")
    warning_count: int = Field(description="Every warning, counted.")


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
    path: str | None = Field(
        None, description="The server's archive folder: shown only to the write key's holder."
    )
    model: str | None = None
    backend: str | None = None
    index: str | None = None
    dimension: int | None = None
    heading_weight: float = Field(
        description="How much of its article's heading (title, standfirst) each passage vector "
        "holds; 0 for an archive built before titles until `reindex --reembed`."
    )
    generation: int
    schema_version: int
    database_bytes: int
    index_bytes: int
    integrity: str = Field(
        description="SQLite's quick check: ok, or not checked (the HTTP API never runs it)."
    )
    keyword_index: Literal["fts5", "tantivy"] = Field(
        description="What answers keyword queries: FTS5, or tantivy past 100,000 passages."
    )
    keyword_index_bytes: int
    lead_index: Literal["fts5", "tantivy"] = Field(
        description="What answers the leads' keyword list of the default hybrid ranking: "
        "FTS5, or tantivy where the passages' keyword index is tantivy."
    )
    lead_index_bytes: int


class Health(BaseModel):
    status: Literal["ok"]


class Error(BaseModel):
    error: str
