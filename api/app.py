"""The HTTP API: thin routes over one `Archive`, loaded once at start-up.

Reads and writes share the process's Archive; before each search the Archive catches its
vector index up with the database generation, so articles added by a `newsarchive ingest` in
another process are searchable without a restart. The FAISS file is saved by a background
timer rather than on every POST, since the database (not the file) is the source of truth.
"""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse

from ..archive import SearchRequest, SearchResponse
from . import errors, explore, schemas, web
from .auth import require_read, require_write

if TYPE_CHECKING:
    from ..archive import Archive

SAVE_EVERY_SECONDS = 30.0
MAX_ARTICLES_PER_POST = 1000


def create_app(archive: Archive, *, warm: bool = True) -> FastAPI:
    """The ASGI app. `warm` loads the model and the FAISS index before the first request."""
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

    app = FastAPI(
        title="newsarchive",
        version="0.1.0",
        description="Search a news archive by meaning and keywords.",
        lifespan=lifespan,
        docs_url=None,  # web.install serves the docs from local assets, not a CDN
        redoc_url=None,
        responses={400: {"model": schemas.Error}, 401: {"model": schemas.Error}},
    )
    errors.install(app)
    app.include_router(explore.router(archive))  # first: /articles/{id}/similar before /{id}
    read = [Depends(require_read)]
    write = [Depends(require_write)]

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
    def post_articles(body: schemas.ArticleIn | list[schemas.ArticleIn]) -> JSONResponse:
        """Ingest one article or a list, incrementally (unchanged articles cost nothing)."""
        items = body if isinstance(body, list) else [body]
        if not items:
            raise HTTPException(400, "no articles given")
        if len(items) > MAX_ARTICLES_PER_POST:
            raise HTTPException(413, f"at most {MAX_ARTICLES_PER_POST:,} articles per request")
        records = [item.model_dump(exclude_none=True) for item in items]
        report = archive.ingest_articles(records, save=False)
        status = 400 if report.errors and not report.articles else 200
        return JSONResponse(report.to_dict(), status_code=status)

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
    def stats() -> dict[str, Any]:
        return archive.stats()

    @app.get("/health", response_model=schemas.Health)
    def health() -> dict[str, Any]:
        stats = archive.stats()
        return {"status": "ok", "articles": stats["articles"], "generation": stats["generation"]}

    web.install(app)  # the search page at /, offline /docs, CORS when configured
    return app
