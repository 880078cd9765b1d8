"""A running `newsarchive serve`, searched over HTTP with the same call as a local `Archive`.

A cold `newsarchive search` has to open the index and load the model before it can answer; a
server has both in memory already. With `NEWSARCHIVE_URL` (or `--url`) set, the CLI sends its
search here instead, and a script can do the same by swapping `Archive` for `RemoteArchive`:
the request is the same `SearchRequest`, the answer the same `SearchResponse`.
"""

from __future__ import annotations

import os
from typing import Any

from .config import API_KEY_ENV
from .errors import InputError
from .search.request import SearchRequest, SearchResponse


class RemoteError(RuntimeError):
    """The server could not be reached or failed; the message names its URL."""


class RemoteArchive:
    """Searches a `newsarchive serve` at `url`; `api_key` defaults to NEWSARCHIVE_API_KEY."""

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        self.timeout = timeout

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = httpx.post(self.url + path, json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise RemoteError(f"{self.url}: cannot reach newsarchive serve ({exc})") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if 400 <= response.status_code < 500:  # the request was wrong: same as a local InputError
            message = answer.get("error") if isinstance(answer, dict) else None
            raise InputError(f"{self.url}: {message or response.reason_phrase}")
        if response.status_code >= 300 or not isinstance(answer, dict):
            message = answer.get("error") if isinstance(answer, dict) else None
            raise RemoteError(f"{self.url}: HTTP {response.status_code} {message or ''}".rstrip())
        return answer

    def search(self, query: str | SearchRequest, **options: Any) -> SearchResponse:
        """Same arguments and results as `Archive.search`."""
        request = (
            query if isinstance(query, SearchRequest) else SearchRequest.make(query, **options)
        )
        body = request.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        return SearchResponse.model_validate(self._post("/search", body))

    def close(self) -> None:
        """Nothing is held open; here so callers can treat both kinds of archive alike."""

    def __enter__(self) -> RemoteArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
