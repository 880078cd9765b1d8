"""Feeds over HTTP: ingest a feed or page URL once, or follow feeds and ingest what is new.

Following is polite and cheap: each poll sends the validators of the previous answer (ETag,
Last-Modified), remembered in the archive's `feeds` table across runs, so an unchanged feed
costs one 304; entries already stored cost nothing because ingest is incremental. A network
failure is logged and the feed is tried again at the next poll; it never stops the loop, and
nothing is written for a poll that failed.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .models import Article, IngestReport, InputError
from .web import looks_like_feed, parse_feed, parse_html

if TYPE_CHECKING:
    from .archive import Archive

DEFAULT_TIMEOUT = 20.0
USER_AGENT = "newsarchive/0.1 (+https://github.com/newsarchive)"
log = logging.getLogger("newsarchive.feeds")


def http_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    return httpx.Client(timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT})


def _get(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """GET, with every transport failure turned into one readable InputError."""
    try:
        return client.get(url, headers=headers or {})
    except httpx.TimeoutException as exc:
        raise InputError(f"{url}: timed out ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise InputError(f"{url}: cannot fetch ({type(exc).__name__}: {exc})") from exc


def _check(url: str, response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise InputError(f"{url}: HTTP {response.status_code} {response.reason_phrase}".rstrip())


def is_feed(data: bytes, content_type: str = "") -> bool:
    content_type = content_type.lower()
    if "html" in content_type and not looks_like_feed(data):
        return False
    return looks_like_feed(data) or any(k in content_type for k in ("rss", "atom", "xml"))


def fetch_articles(
    url: str,
    *,
    fetch_pages: bool = False,
    client: httpx.Client | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[Article | InputError]:
    """A feed URL gives its entries; any other URL is read as one article page."""
    own = client is None
    client = client or http_client(timeout)
    try:
        response = _get(client, url)
        _check(url, response)
        content_type = response.headers.get("content-type", "")
        if not is_feed(response.content, content_type):
            yield parse_html(response.content, url, url=str(response.url))
            return
        articles = parse_feed(response.content, url, feed_url=url)
        yield from (with_pages(articles, client) if fetch_pages else articles)
    finally:
        if own:
            client.close()


def with_pages(
    articles: Iterable[Article], client: httpx.Client | None = None
) -> Iterator[Article | InputError]:
    """Replace each entry's summary by the text of the page it links to (trafilatura).

    The feed stays the authority for the entry's identity, title, date and source; the page
    adds the full text, and the byline when the feed had none. An entry whose page cannot be
    read is reported and kept with the feed's own text.
    """
    own = client is None
    client = client or http_client()
    try:
        for article in articles:
            if not article.url:
                yield article
                continue
            try:
                response = _get(client, article.url)
                _check(article.url, response)
                page = parse_html(response.content, article.url, url=str(response.url))
            except InputError as exc:
                yield InputError(f"{article.origin}: {exc}; kept the feed's text instead")
                yield article
                continue
            article.paragraphs = page.paragraphs
            article.title = article.title or page.title
            article.author = article.author or page.author
            article.date = article.date or page.date
            article.date_raw = article.date_raw or page.date_raw
            article.metadata = {**page.metadata, **article.metadata, "fetched": True}
            yield article
    finally:
        if own:
            client.close()


def parse_interval(text: str) -> float:
    """'15m', '30s', '1h30m' or a number of seconds -> seconds."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)\s*([hms])", value)
        if not parts or re.sub(r"(\d+(?:\.\d+)?)\s*[hms]", "", value).strip():
            raise InputError(f"interval {text!r} is not like 30s, 15m, 1h or 1h30m")
        unit = {"h": 3600, "m": 60, "s": 1}
        seconds = sum(float(n) * unit[u] for n, u in parts)
    if seconds < 1:
        raise InputError(f"interval {text!r} is shorter than one second")
    return seconds


@dataclass
class Poll:
    """The outcome of polling one feed once."""

    feed: str
    status: str  # "updated", "not modified" or "failed"
    entries: int = 0
    report: IngestReport | None = None
    error: str | None = None
    seconds: float = 0.0

    def line(self) -> str:
        """The log line for this poll."""
        head = f"{self.feed}: "
        if self.status == "failed":
            return head + f"failed, will retry at the next poll: {self.error}"
        if self.status == "not modified":
            return head + f"not modified ({self.seconds:.1f} s)"
        report = self.report or IngestReport()
        parts = [f"{report.new} new", f"{report.changed} changed", f"{report.unchanged} unchanged"]
        if report.duplicates:
            parts.append(f"{report.duplicates} exact copies")
        if report.errors:
            parts.append(f"{len(report.errors)} errors")
        return head + f"{self.entries} entries: {', '.join(parts)} ({self.seconds:.1f} s)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "feed": self.feed,
            "status": self.status,
            "entries": self.entries,
            "error": self.error,
            "seconds": round(self.seconds, 3),
            "report": self.report.to_dict() if self.report else None,
        }


class FeedFollower:
    """Polls feeds (URLs or local files) and ingests what is new into one archive."""

    def __init__(
        self,
        archive: Archive,
        feeds: Sequence[str],
        *,
        fetch_pages: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
        on_poll: Callable[[Poll], None] | None = None,
    ) -> None:
        self.archive = archive
        self.feeds = [f if _is_url(f) else str(Path(f).expanduser().resolve()) for f in feeds]
        self.fetch_pages = fetch_pages
        self.client = client or http_client(timeout)
        self.on_poll = on_poll or (lambda poll: log.info(poll.line()))
        self._stop = threading.Event()

    def poll_all(self) -> list[Poll]:
        """Poll every feed once, in order; stops early if asked to stop."""
        polls = []
        for feed in self.feeds:
            if self._stop.is_set():
                break
            poll = self.poll(feed)
            self.on_poll(poll)
            polls.append(poll)
        return polls

    def run(self, every: float, *, once: bool = False) -> list[Poll]:
        """Poll all feeds, then again every `every` seconds until `stop()` (or once).

        Returns the polls of the last round.
        """
        polls: list[Poll] = []
        while not self._stop.is_set():
            polls = self.poll_all()
            if once or self._stop.wait(every):
                break
        return polls

    def stop(self) -> None:
        """Ask `run` to return; safe from a signal handler or another thread."""
        self._stop.set()

    def close(self) -> None:
        self.client.close()

    def poll(self, feed: str) -> Poll:
        started = time.perf_counter()
        state = self.archive.store.feed_state(feed)
        try:
            if _is_url(feed):
                fetched = self._fetch_url(feed, state)
            else:
                fetched = self._read_file(feed, state)
            if fetched is None:
                self.archive.store.save_feed_state(feed, status="not modified")
                return Poll(feed, "not modified", seconds=time.perf_counter() - started)
            data, validators = fetched
            articles = parse_feed(data, feed, feed_url=feed if _is_url(feed) else None)
            items = with_pages(articles, self.client) if self.fetch_pages else articles
            report = self.archive.ingest_articles(items)
        except (InputError, OSError, sqlite3.OperationalError) as exc:
            message = str(exc) if isinstance(exc, InputError) else f"{feed}: {exc}"
            message = message.removeprefix(f"{feed}: ")
            self.archive.store.save_feed_state(feed, status="failed", error=message)
            return Poll(feed, "failed", error=message, seconds=time.perf_counter() - started)
        # Validators are saved only after the entries are committed, so a crash in between
        # means the entries are fetched again, never skipped.
        self.archive.store.save_feed_state(
            feed, status="updated", new=report.new + report.changed, **validators
        )
        return Poll(feed, "updated", len(articles), report, seconds=time.perf_counter() - started)

    def _fetch_url(
        self, url: str, state: dict[str, Any]
    ) -> tuple[bytes, dict[str, str | None]] | None:
        headers = {}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("last_modified"):
            headers["If-Modified-Since"] = state["last_modified"]
        response = _get(self.client, url, headers)
        if response.status_code == 304:
            return None
        _check(url, response)
        return response.content, {
            "etag": response.headers.get("etag"),
            "last_modified": response.headers.get("last-modified"),
        }

    def _read_file(
        self, path: str, state: dict[str, Any]
    ) -> tuple[bytes, dict[str, str | None]] | None:
        """A local feed file's size and modification time play the part of an ETag."""
        info = Path(path).stat()
        tag = f"{info.st_size}-{info.st_mtime_ns}"
        if state.get("etag") == tag:
            return None
        return Path(path).read_bytes(), {"etag": tag, "last_modified": None}


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))
