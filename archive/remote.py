"""A running `newsarchive serve`, searched over HTTP with the same call as a local `Archive`.

A cold `newsarchive search` has to open the index and load the model before it can answer; a
server has both in memory already. With `NEWSARCHIVE_URL` (or `--url`) set, the CLI sends its
search here instead, and a script can do the same by swapping `Archive` for `RemoteArchive`:
the request is the same `SearchRequest`, the answer the same `SearchResponse`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

from .config import API_KEY_ENV
from .errors import InputError
from .search.browse import BrowseRequest, BrowseResponse, explore_request
from .search.facets import FacetsResponse
from .search.request import SearchRequest, SearchResponse
from .search.timeline import TimelineResponse


class RemoteError(RuntimeError):
    """The server could not be reached or failed; the message names its URL."""


class RemoteArchive:
    """Searches a `newsarchive serve` at `url`; `api_key` defaults to NEWSARCHIVE_API_KEY."""

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        self.timeout = timeout

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._ask("POST", path, json=body)

    def _get(self, path: str, params: list[tuple[str, Any]]) -> dict[str, Any]:
        return self._ask("GET", path, params=params)

    def _ask(self, method: str, path: str, **request: Any) -> dict[str, Any]:
        import httpx

        try:
            response = httpx.request(
                method, self.url + path, headers=self._headers, timeout=self.timeout, **request
            )
        except httpx.HTTPError as exc:
            raise RemoteError(f"{self.url}: cannot reach newsarchive serve ({exc})") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        self._check(response.status_code, response.reason_phrase, answer)
        if not isinstance(answer, dict):
            raise RemoteError(f"{self.url}: HTTP {response.status_code}")
        return answer

    def _check(self, status: int, reason: str, answer: Any) -> None:
        message = answer.get("error") if isinstance(answer, dict) else None
        if 400 <= status < 500:  # the request was wrong: same as a local InputError
            raise InputError(f"{self.url}: {message or reason}")
        if status >= 300:
            raise RemoteError(f"{self.url}: HTTP {status} {message or ''}".rstrip())

    def search(self, query: str | SearchRequest, **options: Any) -> SearchResponse:
        """Same arguments and results as `Archive.search`."""
        request = (
            query if isinstance(query, SearchRequest) else SearchRequest.make(query, **options)
        )
        body = request.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        return SearchResponse.model_validate(self._post("/search", body))

    def timeline(
        self, query: str | None = None, interval: str = "auto", **options: Any
    ) -> TimelineResponse:
        """Same arguments and results as `Archive.timeline`."""
        request = explore_request(query, timeline=interval, **options)
        params = query_params(request) + [("interval", interval)]
        return TimelineResponse.model_validate(self._get("/timeline", params))

    def facets(
        self,
        query: str | None = None,
        fields: Sequence[str] = ("source",),
        size: int = 10,
        **options: Any,
    ) -> FacetsResponse:
        """Same arguments and results as `Archive.facets`."""
        request = explore_request(query, facets=list(fields), facet_size=size, **options)
        params = query_params(request) + [("fields", f) for f in request.facets]
        return FacetsResponse.model_validate(self._get("/facets", params + [("size", size)]))

    def browse(self, request: BrowseRequest | None = None, **options: Any) -> BrowseResponse:
        """Same arguments and results as `Archive.browse`."""
        request = request if isinstance(request, BrowseRequest) else BrowseRequest.make(**options)
        params = query_params(request) + [("sort", request.sort), ("limit", request.limit)]
        params += [("after", request.after)] if request.after else []
        params += [("facets", f) for f in request.facets] + [("facet_size", request.facet_size)]
        params += [("timeline", request.timeline)] if request.timeline else []
        return BrowseResponse.model_validate(self._get("/articles", params))

    def similar(
        self, article_id: str | None = None, text: str | None = None, **options: Any
    ) -> SearchResponse:
        """Same arguments and results as `Archive.similar`."""
        from .search.similar import SimilarRequest

        request = SimilarRequest.make(text=text, **options)
        if article_id is None:
            body = request.model_dump(mode="json", exclude_defaults=True)
            return SearchResponse.model_validate(self._post("/similar", body))
        params = query_params(request) + [("limit", request.limit), ("offset", request.offset)]
        path = f"/articles/{quote(article_id, safe='')}/similar"
        return SearchResponse.model_validate(self._get(path, params))

    def export(
        self,
        request: SearchRequest | BrowseRequest | str | None = None,
        *,
        fields: str | Sequence[str] | None = None,
        format: str = "jsonl",
        **options: Any,
    ) -> Iterator[str]:
        """Same arguments and text as `Archive.export`, streamed from the server (in chunks)."""
        import httpx

        from .search.export import check_fields, check_format

        if not isinstance(request, (SearchRequest, BrowseRequest)):
            request = explore_request(request, **options)
        params = query_params(request) + [("format", check_format(format))]
        params += [("fields", ",".join(check_fields(fields)))]
        if request.sort != "relevance":
            params.append(("sort", request.sort))
        client = httpx.Client(timeout=self.timeout, headers=self._headers)
        try:
            response = client.send(
                client.build_request("GET", self.url + "/export", params=params), stream=True
            )
        except httpx.HTTPError as exc:
            client.close()
            raise RemoteError(f"{self.url}: cannot reach newsarchive serve ({exc})") from exc
        if response.status_code >= 300:
            try:
                answer = json.loads(response.read())
            except ValueError:
                answer = {}
            finally:
                client.close()
            self._check(response.status_code, response.reason_phrase, answer)

        def lines() -> Iterator[str]:
            try:
                yield from response.iter_text()
            finally:
                response.close()
                client.close()

        return lines()

    def close(self) -> None:
        """Nothing is held open; here so callers can treat both kinds of archive alike."""

    def __enter__(self) -> RemoteArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def query_params(request: Any) -> list[tuple[str, Any]]:
    """A request's query and filters as GET parameters (`where` as FIELD=VALUE, repeated)."""
    params: list[tuple[str, Any]] = []
    if isinstance(request, SearchRequest):
        params += [("q", request.query), ("mode", request.mode)]
    for name in ("since", "until"):
        if getattr(request, name, None):
            params.append((name, getattr(request, name)))
    params += [("source", s) for s in getattr(request, "source", [])]
    where = getattr(request, "where", {})
    params += [("where", f"{k}={v}") for k, values in where.items() for v in values]
    return params
