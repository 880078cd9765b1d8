"""The HTTP API: thin routes over one `Archive`, loaded once at start-up.

Reads and writes share the process's Archive; before each search the Archive catches its
vector index up with the database generation, so articles added by a `newsarchive ingest` in
another process are searchable without a restart. The FAISS file is saved by a background
timer rather than on every POST, since the database (not the file) is the source of truth.
Request bodies are limited before they are parsed (`NEWSARCHIVE_MAX_REQUEST_BYTES`, 413).
"""

from __future__ import annotations

import copy
import logging
import threading
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from ..archive import SearchRequest, SearchResponse, config
from . import errors, explore, schemas, web
from .auth import Keys, bearer, is_writer, keys_from_environment, require_read, require_write
from .limits import BodyLimit

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from ..archive import Archive

SAVE_EVERY_SECONDS = 30.0
MAX_ARTICLES_PER_POST = schemas.MAX_ARTICLES_PER_POST
log = logging.getLogger("newsarchive.api")


class KeepAliveOn500:
    """An unexpected error answers 500 here, so it never reaches Starlette's last-resort
    handler, which closes the connection (and the client's next request fails too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            log.exception("internal error")
            response = JSONResponse(
                {"error": f"internal error: {type(exc).__name__}"}, status_code=500
            )
            await response(scope, receive, send)


def described(app: FastAPI, keys: Keys) -> dict[str, Any]:
    """The OpenAPI document as the API answers: a 422 is `{"error"}` like every error, and
    the bearer key is asked for only where a key is configured (with no read key, reads are
    open, and the document says so)."""
    spec = copy.deepcopy(app.openapi())
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    writes = {("/articles", "post"), ("/articles/{article_id}", "delete")}
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {"description": "Validation Error", "content": error}
            guarded = keys.write if (path, method) in writes else keys.read
            if not guarded:
                operation.pop("security", None)
                responses.pop("401", None)
    components = spec.get("components", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(name, None)
    if not (keys.read or keys.write):
        components.pop("securitySchemes", None)
    return spec


def create_app(archive: Archive, *, warm: bool = True) -> FastAPI:
    """The ASGI app. `warm` loads the model and the FAISS index before the first request.

    A key variable set to an empty value is an ArchiveError here, before anything serves.
    """
    keys = keys_from_environment()
    limits = config.configured_limits()
    stop = threading.Event()

    def saver() -> None:
        while not stop.wait(SAVE_EVERY_SECONDS):
            archive.save_index()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm and archive.stats()["passages"]:
            archive.searcher()  # loads the model and the index
        thread = threading.Thread(target=saver, name="faiss-saver", daemon=True)
        thread.start()
        yield
        stop.set()
        archive.save_index()

    read = [Depends(require_read)]
    write = [Depends(require_write)]
    app = FastAPI(
        title="newsarchive",
        version="0.1.0",
        description="Search a news archive by meaning and keywords.",
        lifespan=lifespan,
        responses={
            400: {"model": schemas.Error},
            401: {"model": schemas.Error},
            413: {"model": schemas.Error},
            503: {"model": schemas.Error},
        },
        # /openapi.json is a route below and /docs, /redoc come from web.install: all behind
        # the read key when there is one, with the docs' assets served offline
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.keys = keys
    errors.install(app)
    app.add_middleware(KeepAliveOn500)
    app.add_middleware(BodyLimit, limit=limits.request_bytes)
    app.include_router(explore.router(archive))  # first: /articles/{id}/similar before /{id}

    @app.get("/openapi.json", include_in_schema=False, dependencies=read)
    def openapi() -> dict[str, Any]:
        return described(app, keys)

    @app.get("/search", response_model=SearchResponse, dependencies=read)
    def search_get(params: Annotated[schemas.SearchParams, Query()]) -> SearchResponse:
        """Ranked results; `where=topics=grain` filters on any stored metadata field."""
        return archive.search(params.to_request())

    @app.post("/search", response_model=SearchResponse, dependencies=read)
    def search_post(request: SearchRequest) -> SearchResponse:
        """The same search, with a JSON body (`where` as an object)."""
        return archive.search(request)

    @app.get(
        "/articles/{article_id:path}",
        response_model=schemas.ArticleOut,
        responses={404: {"model": schemas.Error}},
        dependencies=read,
    )
    def get_article(article_id: str) -> dict[str, Any]:
        article = archive.get(article_id)
        if article is None:
            raise HTTPException(404, f"no article with id {article_id!r}")
        return article

    @app.post("/articles", response_model=schemas.IngestResult, dependencies=write)
    def post_articles(body: schemas.ArticleIn | schemas.ArticleList) -> dict[str, Any]:
        """Ingest one article or a list (1 to 1,000), incrementally (unchanged articles cost
        nothing). 400 when none could be stored; 503 with Retry-After while another process
        holds the archive's write lock."""
        items = body if isinstance(body, list) else [body]
        records = [item.model_dump(exclude_none=True) for item in items]
        report = archive.ingest_articles(records, save=False, wait=archive.lock_timeout)
        if report.error_count and not report.articles:
            more = f" (and {report.error_count - 1:,} more)" if report.error_count > 1 else ""
            raise HTTPException(400, f"no article stored: {report.errors[0]}{more}")
        return report.to_dict()

    @app.delete(
        "/articles/{article_id:path}",
        response_model=schemas.Deleted,
        responses={404: {"model": schemas.Error}},
        dependencies=write,
    )
    def delete_article(article_id: str) -> dict[str, str]:
        if not archive.remove([article_id], save=False):
            raise HTTPException(404, f"no article with id {article_id!r}")
        return {"deleted": article_id}

    @app.get("/stats", response_model=schemas.Stats, dependencies=read)
    def stats(request: Request, credentials: Annotated[Any, Depends(bearer)]) -> dict[str, Any]:
        """Counts, sources, index and sizes; the data folder only for the write key."""
        result = archive.stats()
        if not is_writer(request, credentials):
            result["path"] = None
        return result

    @app.get("/health", response_model=schemas.Health)
    def health() -> dict[str, Any]:
        """Liveness only, open to all: counts are in /stats, behind the read key."""
        return {"status": "ok"}

    web.install(app, docs_dependencies=read)  # the page at /, offline /docs, CORS if configured
    return app
