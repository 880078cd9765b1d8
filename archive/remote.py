"""A running `newsarchive serve`, searched over HTTP with the same call as a local `Archive`.

A cold `newsarchive search` has to open the index and load the model before it can answer; a
server has both in memory already. With `NEWSARCHIVE_URL` (or `--url`) set, the CLI sends its
search here instead, and a script can do the same by swapping `Archive` for `RemoteArchive`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .models import InputError

API_KEY_ENV = "NEWSARCHIVE_API_KEY"


class RemoteError(RuntimeError):
    """The server could not be reached or failed; the message names its URL."""


@dataclass
class RemoteResponse:
    """A search response as the server sent it (the shape of `SearchResponse.to_dict()`)."""

    body: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.body


class RemoteArchive:
    """Searches a `newsarchive serve` at `url`; `api_key` defaults to NEWSARCHIVE_API_KEY."""

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        self.timeout = timeout

    def _get(self, path: str, params: list[tuple[str, Any]] | None = None) -> dict[str, Any]:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = httpx.get(
                self.url + path, params=params, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise RemoteError(f"{self.url}: cannot reach newsarchive serve ({exc})") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if 400 <= response.status_code < 500:  # the request was wrong: same as a local InputError
            raise InputError(f"{self.url}: {body.get('error') or response.reason_phrase}")
        if response.status_code >= 300 or not isinstance(body, dict):
            message = body.get("error") if isinstance(body, dict) else None
            raise RemoteError(f"{self.url}: HTTP {response.status_code} {message or ''}".rstrip())
        return body

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        offset: int = 0,
        mode: str = "hybrid",
        since: str | None = None,
        until: str | None = None,
        source: str | Sequence[str] | None = None,
        where: dict[str, list[str]] | Sequence[str] | None = None,
        group: bool = True,
        collapse: bool = True,
    ) -> RemoteResponse:
        """Same arguments and results as `Archive.search`."""
        params: list[tuple[str, Any]] = [("q", query), ("limit", limit), ("offset", offset)]
        params += [("mode", mode), ("group", group), ("collapse", collapse)]
        params += [(name, value) for name, value in (("since", since), ("until", until)) if value]
        sources = [source] if isinstance(source, str) else list(source or [])
        params += [("source", s) for s in sources]
        if isinstance(where, dict):
            where = [
                f"{field}={value}"
                for field, values in where.items()
                for value in (values if isinstance(values, (list, tuple)) else [values])
            ]
        params += [("where", w) for w in where or []]
        return RemoteResponse(self._get("/search", params))

    def stats(self) -> dict[str, Any]:
        return self._get("/stats")

    def close(self) -> None:
        """Nothing is held open; here so callers can treat both kinds of archive alike."""
