"""HTTP routes for exploring the archive: timeline, facets, browse, similar, export, saved
searches. Thin routes over `Archive`; each answers the document its CLI command prints with
`--json`. GET parameters are models that forbid unknown names, so a misspelt one is a 422
naming it rather than being silently ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..archive import (
    EXPORT_MEDIA_TYPES,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    NAME_RE,
    NOT_BLANK,
    BrowseResponse,
    ChecksResponse,
    FacetsResponse,
    SearchRequest,
    SearchResponse,
    SimilarRequest,
    TimelineOption,
    TimelineResponse,
    Watch,
    check_name,
)
from . import schemas
from .auth import require_read, require_write

if TYPE_CHECKING:
    from ..archive import Archive

Mode = Literal["hybrid", "semantic", "keyword"]


class FilterParams(BaseModel):
    """The filters every explore endpoint takes, as in GET /search."""

    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(None, description="Only articles dated on/after (ISO date).")
    until: str | None = Field(None, description="Only articles dated on/before (ISO date).")
    source: list[str] = Field(default_factory=list, description="Repeatable.")
    where: list[schemas.WhereItem] = Field(
        default_factory=list, description="FIELD=VALUE, repeatable."
    )

    def filters(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "source": self.source,
            "where": self.where,
        }


class QueryParams(FilterParams):
    q: str | None = Field(
        None, max_length=MAX_QUERY_CHARS, description="The query; leave out to count by filters."
    )
    mode: Mode = "hybrid"


class TimelineParams(QueryParams):
    interval: TimelineOption = Field("auto", description="auto, day, week, month or year.")


class FacetsParams(QueryParams):
    fields: list[schemas.FieldItem] = Field(
        default_factory=lambda: ["source"],
        max_length=10,
        description="source, author or metadata fields.",
    )
    size: int = Field(10, ge=1, le=100, description="Values per field.")


class BrowseParams(FilterParams):
    sort: Literal["newest", "oldest"] = "newest"
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    after: str | None = Field(None, description="A previous response's `next`.")
    facets: list[schemas.FieldItem] = Field(
        default_factory=list, max_length=10, description="Repeatable."
    )
    facet_size: int = Field(10, ge=1, le=100)
    timeline: TimelineOption | None = None


class SimilarParams(FilterParams):
    limit: int = Field(10, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)
    collapse: bool = True


class ExportParams(QueryParams):
    format: Literal["jsonl", "csv"] = "jsonl"
    fields: list[schemas.FieldList] = Field(
        default_factory=list,
        description="Repeatable or comma-separated (default id,title,date,source,url).",
    )
    sort: Literal["newest", "oldest"] = "newest"


class Watches(BaseModel):
    watches: list[Watch]


class SimilarText(SimilarRequest):
    """POST /similar's body: the passage is required here."""

    text: str = Field(
        min_length=1,
        max_length=10_000,  # as SimilarRequest.text
        description="A passage to find similar stories to (the model reads its first ~250 words).",
        json_schema_extra={"pattern": NOT_BLANK.pattern},
    )


WatchName = Annotated[str, Path(json_schema_extra={"pattern": NAME_RE.pattern})]


def router(archive: Archive) -> APIRouter:
    """The routes, over one Archive. Included before the app's own `/articles/{id}` route, whose
    path pattern would otherwise take `/articles/{id}/similar`."""
    read = [Depends(require_read)]
    write = [Depends(require_write)]
    routes = APIRouter()

    @routes.get("/timeline", response_model=TimelineResponse, dependencies=read)
    def timeline(params: Annotated[TimelineParams, Query()]) -> TimelineResponse:
        """Matching articles per period and their share of all articles passing the filters."""
        return archive.timeline(params.q, params.interval, mode=params.mode, **params.filters())

    @routes.get("/facets", response_model=FacetsResponse, dependencies=read)
    def facets(params: Annotated[FacetsParams, Query()]) -> FacetsResponse:
        """Counts of the matching articles per value of each field, with other and missing."""
        return archive.facets(
            params.q, params.fields, params.size, mode=params.mode, **params.filters()
        )

    @routes.get("/articles", response_model=BrowseResponse, dependencies=read)
    def browse(params: Annotated[BrowseParams, Query()]) -> BrowseResponse:
        """Articles passing the filters in date order, a page at a time (`after` = `next`)."""
        return archive.browse(**params.model_dump())

    @routes.get(
        "/articles/{article_id:path}/similar",
        response_model=SearchResponse,
        responses={404: {"model": schemas.Error}},
        dependencies=read,
    )
    def similar_article(
        article_id: str, params: Annotated[SimilarParams, Query()]
    ) -> SearchResponse:
        """Stories like a stored article, its own copies and near-copy cluster left out."""
        if archive.get(article_id) is None:
            raise HTTPException(404, f"no article with id {article_id!r}")
        return archive.similar(article_id, **params.model_dump())

    @routes.post("/similar", response_model=SearchResponse, dependencies=read)
    def similar_text(body: SimilarText) -> SearchResponse:
        """Stories like a passage of text (`text`), with the same filters."""
        return archive.similar(None, **body.model_dump())

    @routes.get(
        "/export",
        response_class=StreamingResponse,
        responses={200: {"content": {t: {} for t in EXPORT_MEDIA_TYPES.values()}}},
        dependencies=read,
    )
    def export(params: Annotated[ExportParams, Query()]) -> StreamingResponse:
        """Every matching article (without `q`: every article passing the filters) as JSONL or
        CSV, streamed; the number of records equals `total`."""
        lines = archive.export(
            params.q,
            fields=params.fields or None,
            format=params.format,
            sort=params.sort,
            mode=params.mode,
            **params.filters(),
        )
        name = f"newsarchive-export.{params.format}"
        return StreamingResponse(
            lines,
            media_type=EXPORT_MEDIA_TYPES[params.format],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @routes.get("/watches", response_model=Watches, dependencies=read)
    def list_watches() -> dict[str, Any]:
        """The saved searches."""
        return {"watches": archive.watches().list()}

    @routes.put("/watches/{name}", response_model=Watch, dependencies=write)
    def put_watch(name: WatchName, body: SearchRequest) -> Watch:
        """Save a search under `name` (replacing one); its first check reports what comes
        after."""
        return archive.watches().add(check_name(name), body)

    @routes.delete(
        "/watches/{name}",
        response_model=schemas.Deleted,
        responses={404: {"model": schemas.Error}},
        dependencies=write,
    )
    def delete_watch(name: WatchName) -> dict[str, str]:
        if not archive.watches().remove(name):
            raise HTTPException(404, f"no saved search named {name!r}")
        return {"deleted": name}

    @routes.post(
        "/watches/{name}/check",
        response_model=ChecksResponse,
        responses={404: {"model": schemas.Error}},
        dependencies=write,
    )
    def check_watch(name: WatchName) -> ChecksResponse:
        """The articles new for the saved search since its last check; marks it checked."""
        watches = archive.watches()
        if watches.get(name) is None:
            raise HTTPException(404, f"no saved search named {name!r}")
        return watches.check(name)

    return routes
