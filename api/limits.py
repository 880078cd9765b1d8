"""Request bodies are limited before they are parsed (NEWSARCHIVE_MAX_REQUEST_BYTES).

A body that declares a larger Content-Length is refused before a byte of it is read; one sent
without a length (chunked) is counted as it arrives and refused once past the limit. Either
way the answer is a 413 `{"error": ...}` like every other error (Starlette's own limiter
answers in plain text), and nothing of the body reaches the JSON parser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

ENV = "NEWSARCHIVE_MAX_REQUEST_BYTES"


def too_large(limit: int) -> str:
    return f"request body larger than {limit:,} bytes ({ENV})"


class BodyTooLarge(HTTPException):
    """Raised from `receive`: FastAPI passes HTTPExceptions from body reading through to the
    app's handler, which answers JSON."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large(limit))


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            response = JSONResponse({"error": too_large(self.limit)}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)
