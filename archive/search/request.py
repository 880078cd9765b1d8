"""The one definition of a search: what can be asked and what comes back.

The library (`Archive.search`), the CLI, `RemoteArchive` and the HTTP API all use these
models, so every face has the same fields, defaults and limits, and /docs shows exactly what a
response carries.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import InputError
from ..textcheck import surrogate_field, surrogate_message
from .cursor import MAX_CURSOR_CHARS, fingerprint
from .facets import MAX_FACET_SIZE, MAX_FACETS, Facet, check_facets
from .filters import FIELD_RE, Filters, check_field, parse_where
from .timeline import Timeline, TimelineOption

if TYPE_CHECKING:
    from typing_extensions import Self

MODES = ("hybrid", "semantic", "keyword")
Mode = Literal["hybrid", "semantic", "keyword"]
Fusion = Literal["score", "rrf", "rrf60"]  # search/fusion.py's FUSIONS
SORTS = ("relevance", "newest", "oldest")
Sort = Literal["relevance", "newest", "oldest"]
MAX_QUERY_CHARS = 1000
MAX_LIMIT = 100  # results per page, in every face
CANDIDATE_DEPTH = 500  # passages per retriever; also the deepest page reachable
# A character that is not blank, the same in Python and in JSON Schema's (ECMA) regexes,
# whose \s differ: Python's also covers \x1c-\x1f and \x85, ECMA's also \ufeff.
NOT_BLANK = re.compile(r"[^\s\x1c-\x1f\x85\ufeff]")


class FilteredRequest(BaseModel):
    """What every request that filters articles shares (search, browse, similar): `source` and
    `where` read the same way, `filters()`, and building from keyword arguments with a bad value
    as one InputError naming the field. Each request declares its own fields."""

    if TYPE_CHECKING:
        since: str | None
        until: str | None
        source: list[str]
        where: dict[str, list[str]]

    @field_validator("source", mode="before", check_fields=False)
    @classmethod
    def _sources(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else (value or [])

    @field_validator("where", mode="before", check_fields=False)
    @classmethod
    def _where(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, (list, tuple)):
            return parse_where(list(value))
        if isinstance(value, dict):
            return {
                check_field(k): list(v) if isinstance(v, (list, tuple)) else [v]
                for k, v in value.items()
            }
        return value

    @classmethod
    def build(cls, **options: Any) -> Self:
        """The request from keyword arguments (None: the default)."""
        try:
            return cls(**{k: v for k, v in options.items() if v is not None})
        except ValidationError as exc:
            raise InputError(describe(exc.errors())) from None

    def filters(self) -> Filters:
        return Filters(since=self.since, until=self.until, sources=self.source, where=self.where)


class SearchRequest(FilteredRequest):
    """A query with its filters and paging. `where` takes `{"topics": ["grain"]}` or
    `["topics=grain"]`; `source` a name or a list of names."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    query: str = Field(
        alias="q",
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        description="The query, in plain words.",
        json_schema_extra={"pattern": NOT_BLANK.pattern},  # checked below, with its message
    )
    limit: int = Field(10, ge=1, le=MAX_LIMIT, description="Results per page.")
    offset: int = Field(0, ge=0, description="Results to skip (paging).")
    mode: Mode = Field("hybrid", description="hybrid (default), semantic or keyword.")
    fusion: Fusion = Field(
        "score",
        description="How hybrid combines its two lists: score (default: article-level score "
        "fusion with the lead), rrf (reciprocal rank fusion k=5, keyword weight 0.5: the "
        "earlier default) or rrf60 (plain reciprocal rank fusion k=60, equal weights).",
    )
    since: str | None = Field(None, description="Only articles dated on/after (ISO date).")
    until: str | None = Field(None, description="Only articles dated on/before (ISO date).")
    source: list[str] = Field(default_factory=list, description="Only these sources.")
    where: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Metadata filters, e.g. {"topics": ["grain"]}.',
        json_schema_extra={"propertyNames": {"pattern": FIELD_RE.pattern}},
    )
    group: bool = Field(True, description="One result per article (its best passage).")
    collapse: bool = Field(
        True, description="Syndicated copies of one story as one result, naming them in also_in."
    )
    sort: Sort = Field(
        "relevance",
        description="relevance (default), or newest/oldest: date order over the whole matching "
        "set, ties by article id, undated articles last.",
    )
    after: str | None = Field(
        None,
        max_length=MAX_CURSOR_CHARS,
        description="A previous response's `next`: the page after it (instead of offset).",
    )
    facets: list[str] = Field(
        max_length=MAX_FACETS,
        json_schema_extra={"items": {"type": "string", "pattern": FIELD_RE.pattern}},
        default_factory=list,
        description="Fields to count the matching set by: source, author or a metadata field.",
    )
    facet_size: int = Field(10, ge=1, le=MAX_FACET_SIZE, description="Values per facet.")
    timeline: TimelineOption | None = Field(
        None, description="Matching articles per day/week/month/year (auto: from the span)."
    )

    @field_validator("facets", mode="before")
    @classmethod
    def _facets(cls, value: Any) -> Any:
        if value is None:
            return []
        return check_facets([value] if isinstance(value, str) else list(value))

    @model_validator(mode="after")
    def _paging(self) -> SearchRequest:
        if self.after is not None and self.offset:
            raise ValueError("after and offset: give one or the other")
        if self.sort != "relevance" and not self.group:
            raise ValueError(f"group=false lists passages; sort={self.sort} lists articles")
        return self

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not NOT_BLANK.search(value):
            raise ValueError("query is empty")
        return value

    @model_validator(mode="after")
    def _text(self) -> SearchRequest:
        fields = {"q": self.query, "since": self.since, "until": self.until}
        bad = surrogate_field({**fields, "source": self.source, "where": self.where})
        if bad:
            raise ValueError(surrogate_message(bad))
        return self

    @classmethod
    def make(cls, query: str, **options: Any) -> SearchRequest:
        """Build from keyword arguments, as `Archive.search` takes them; a bad value is one
        InputError naming the field."""
        if not isinstance(query, str) or not NOT_BLANK.search(query):
            raise InputError("query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise InputError(f"query is {len(query)} characters; the limit is {MAX_QUERY_CHARS}")
        return cls.build(query=query, **options)

    def order_key(self) -> str:
        """What a cursor must come from: the same results in the same order."""
        fields = ("query", "mode", "fusion", "since", "until", "source", "where", "group")
        fields += ("collapse",)
        return fingerprint([self.sort, *(getattr(self, f) for f in fields)])


def describe(errors: list[dict[str, Any]]) -> str:
    """Pydantic's errors as one line: `field: problem; field: problem`."""
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        named = where and not message.startswith(f"{where}:")
        parts.append(f"{where}: {message}" if named else message)
    return "; ".join(parts)


class ArticleRef(BaseModel):
    """The article a result belongs to."""

    id: str
    title: str | None = None
    author: str | None = None
    source: str | None = None
    date: str | None = None
    url: str | None = None


class Copy(BaseModel):
    """Another outlet's copy of a story: `exact` (same text, kept as another source of the
    article) or `near` (a lightly edited copy, an article of its own in the same cluster)."""

    id: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    date: str | None = None
    kind: Literal["exact", "near"]


class Hit(BaseModel):
    """One ranked result: a passage and the article it belongs to."""

    passage_id: int
    score: float = Field(description="Fused (hybrid), cosine (semantic) or BM25 (keyword) score.")
    text: str
    position: int = Field(description="The passage's place in its article, from 0.")
    snippet: str = ""
    highlights: list[tuple[int, int]] = Field(
        default_factory=list, description="[start, end) spans of the snippet to mark."
    )
    other_passages: list[int] = Field(
        default_factory=list, description="The article's other matching passages."
    )
    also_in: list[str] = Field(default_factory=list, description="Outlets of its copies.")
    copies: list[Copy] = Field(default_factory=list)
    article: ArticleRef


class SearchResponse(BaseModel):
    query: str
    mode: Mode
    sort: Sort = "relevance"
    total: int = Field(
        description="Articles in the matching set: those passing the filters that hold every "
        "word of the query, or are among the ranked candidates."
    )
    pageable: int = Field(
        0,
        description="Results reachable by paging in relevance order (after grouping and "
        "collapsing copies).",
    )
    took_ms: float
    results: list[Hit]
    next: str | None = Field(
        None, description="Cursor of the next page (`after`); null at the end."
    )
    facets: dict[str, Facet] = Field(default_factory=dict, description="Counts asked in `facets`.")
    timeline: Timeline | None = Field(None, description="Asked in `timeline`.")

    @property
    def hits(self) -> list[Hit]:
        return self.results

    def to_dict(self) -> dict[str, Any]:
        """The JSON document every face prints (`--json`, the HTTP API)."""
        return self.model_dump(mode="json")
