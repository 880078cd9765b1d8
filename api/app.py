"""FastAPI service over one `Archive`, loaded once at start-up.

Reads and writes share the process's Archive; before each search the Archive catches its FAISS
view up with the database generation, so articles added by a `newsarchive ingest` in another
process are searchable without a restart. The FAISS file is saved by a background timer rather
than on every POST, since the database (not the file) is the source of truth.
"""

from __future__ import annotations

import os
import secrets
import threading
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..archive.archive import Archive, ArchiveError
from ..archive.models import InputError
from . import schemas

API_KEY_ENV = "NEWSARCHIVE_API_KEY"
READ_KEY_ENV = "NEWSARCHIVE_READ_KEY"
SAVE_EVERY_SECONDS = 30.0

bearer = HTTPBearer(auto_error=False)


def _check_key(credentials: HTTPAuthorizationCredentials | None, *keys: str | None) -> None:
    accepted = [k for k in keys if k]
    if not accepted:
        return
    given = credentials.credentials if credentials else ""
    # compare_digest against every accepted key so timing reveals nothing about which matched
    if not any([secrets.compare_digest(given.encode(), k.encode()) for k in accepted]):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong API key (send Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_write(credentials: Annotated[Any, Depends(bearer)]) -> None:
    _check_key(credentials, os.environ.get(API_KEY_ENV))


def require_read(credentials: Annotated[Any, Depends(bearer)]) -> None:
    read_key = os.environ.get(READ_KEY_ENV)
    if read_key:  # the write key may read too
        _check_key(credentials, read_key, os.environ.get(API_KEY_ENV))


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
        if error.get("type") == "json_invalid":
            return "request body is not valid JSON"
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return "; ".join(parts)


def create_app(archive: Archive, *, warm: bool = True) -> FastAPI:
    """The ASGI app. `warm` loads the model and the FAISS index before the first request."""

    stop = threading.Event()

    def saver() -> None:
        while not stop.wait(SAVE_EVERY_SECONDS):
            archive.save_index()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm and archive.stats()["passages"]:
            archive.embedder.load()
            _ = archive.index
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
        responses={400: {"model": schemas.Error}, 401: {"model": schemas.Error}},
    )
    app.state.archive = archive

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        status = 400 if any(e.get("type") == "json_invalid" for e in errors) else 422
        return JSONResponse({"error": _describe(errors)}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(ArchiveError)
    async def archive_error(request: Request, exc: ArchiveError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=409)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)

    def run_search(body: schemas.SearchBody) -> dict[str, Any]:
        response = archive.search(
            body.q,
            limit=body.limit,
            offset=body.offset,
            mode=body.mode,
            since=body.since,
            until=body.until,
            source=body.source,
            where=body.where,
            group=body.group,
            collapse=body.collapse,
        )
        return response.to_dict()

    @app.get("/search", response_model=schemas.SearchResponse, dependencies=[Depends(require_read)])
    def search_get(
        q: Annotated[str, Query(min_length=1, max_length=1000, description="The query.")],
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        offset: Annotated[int, Query(ge=0)] = 0,
        mode: schemas.Mode = "hybrid",
        since: str | None = None,
        until: str | None = None,
        source: Annotated[list[str] | None, Query()] = None,
        where: Annotated[list[str] | None, Query(description="FIELD=VALUE, repeatable")] = None,
        group: bool = True,
        collapse: bool = True,
    ) -> dict[str, Any]:
        """Ranked results; `where=topics=grain` filters on any stored metadata field."""
        from ..archive.filters import parse_where

        body = schemas.SearchBody(
            q=q, limit=limit, offset=offset, mode=mode, since=since, until=until,
            source=source or [], where=parse_where(where), group=group, collapse=collapse,
        )  # fmt: skip
        return run_search(body)

    @app.post(
        "/search", response_model=schemas.SearchResponse, dependencies=[Depends(require_read)]
    )
    def search_post(body: schemas.SearchBody) -> dict[str, Any]:
        return run_search(body)

    @app.get(
        "/articles/{article_id:path}",
        response_model=schemas.ArticleOut,
        responses={404: {"model": schemas.Error}},
        dependencies=[Depends(require_read)],
    )
    def get_article(article_id: str) -> dict[str, Any]:
        article = archive.get(article_id)
        if article is None:
            raise HTTPException(404, f"no article with id {article_id!r}")
        return article

    @app.post(
        "/articles",
        response_model=schemas.IngestResult,
        dependencies=[Depends(require_write)],
    )
    def post_articles(body: schemas.ArticleIn | list[schemas.ArticleIn]) -> JSONResponse:
        """Ingest one article or a list, incrementally (unchanged articles cost nothing)."""
        items = body if isinstance(body, list) else [body]
        if not items:
            raise HTTPException(400, "no articles given")
        if len(items) > 1000:
            raise HTTPException(413, "at most 1,000 articles per request")
        records = [item.model_dump(exclude_none=True) for item in items]
        report = archive.ingest_articles(records, save=False)
        status = 400 if report.errors and not report.articles else 200
        return JSONResponse(report.to_dict(), status_code=status)

    @app.delete(
        "/articles/{article_id:path}",
        response_model=schemas.Deleted,
        responses={404: {"model": schemas.Error}},
        dependencies=[Depends(require_write)],
    )
    def delete_article(article_id: str) -> dict[str, str]:
        if not archive.remove([article_id], save=False):
            raise HTTPException(404, f"no article with id {article_id!r}")
        return {"deleted": article_id}

    @app.get("/stats", response_model=schemas.Stats, dependencies=[Depends(require_read)])
    def stats() -> dict[str, Any]:
        return archive.stats()

    @app.get("/health", response_model=schemas.Health)
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "articles": archive.stats()["articles"],
            "generation": archive.store.generation(),
        }

    return app
