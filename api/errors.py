"""Every error as JSON `{"error": "..."}` with the status that says whose fault it is.

422: a parameter out of its schema (range, type, unknown field, text that is not text);
400: malformed JSON or a value the archive cannot use (a date it cannot read, a bad filter);
401: a missing or wrong key; 404: an unknown id; 405: a method the path does not take (`Allow`
lists every one it does); 409: the archive cannot serve this (built with another model);
413: a request body over the limit; 503 with `Retry-After`: another process holds the archive's
write lock (try again); 503: the database is damaged; 507: the disk is full. No request can
cause a 500: that is left for bugs, and it keeps the connection open like any other answer.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..archive import ArchiveBusy, ArchiveDamaged, ArchiveError, InputError, StorageFull
from ..archive import describe_errors as describe


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (FastAPI names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"error": "request body is not valid JSON"}, status_code=400)
        return JSONResponse({"error": describe(errors)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        message = str(exc.detail)
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        elif exc.status_code == 400 and message == "There was an error parsing the body":
            message = "request body cannot be read as JSON (not UTF-8, or nested too deeply)"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(ArchiveError)
    async def archive_error(request: Request, exc: ArchiveError) -> JSONResponse:
        if isinstance(exc, ArchiveBusy):
            return JSONResponse(
                {"error": str(exc)},
                status_code=503,
                headers={"Retry-After": str(exc.retry_after)},
            )
        if isinstance(exc, ArchiveDamaged):
            return JSONResponse({"error": str(exc)}, status_code=503)
        if isinstance(exc, StorageFull):
            return JSONResponse({"error": str(exc)}, status_code=507)
        return JSONResponse({"error": str(exc)}, status_code=409)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)
