"""Following feeds: poll feed URLs or files and ingest what is new, until stopped.

Following is polite and cheap: each poll sends the validators of the previous answer (ETag,
Last-Modified), remembered in the archive across runs (store/feeds.py), so an unchanged feed
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from ..errors import ArchiveBusy, InputError, StorageFull
from ..records import Article, IngestReport
from ..sources.feeds import parse_feed
from ..sources.files import read_capped
from ..sources.http import DEFAULT_TIMEOUT, check, get, http_client, with_pages

log = logging.getLogger("newsarchive.follow")
Ingest = Callable[[Iterable[Article | InputError]], IngestReport]


class PollState(Protocol):
    """Where polls are remembered (store/feeds.py implements it)."""

    def get(self, feed: str) -> dict[str, Any]: ...

    def record(
        self,
        feed: str,
        *,
        status: str,
        error: str | None = None,
        new: int = 0,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None: ...


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
        if report.exact_copies:
            parts.append(f"{report.exact_copies} exact copies")
        if report.error_count:
            parts.append(f"{report.error_count} errors")
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
    """Polls feeds (URLs or local files) and ingests what is new through `ingest`."""

    def __init__(
        self,
        ingest: Ingest,
        polls: PollState,
        feeds: Sequence[str],
        *,
        fetch_pages: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
        on_poll: Callable[[Poll], None] | None = None,
        allow_private: bool | None = None,
    ) -> None:
        self.ingest = ingest
        self.polls = polls
        self.feeds = [f if _is_url(f) else str(Path(f).expanduser().resolve()) for f in feeds]
        self.fetch_pages = fetch_pages
        self.allow_private = allow_private  # None: NEWSARCHIVE_ALLOW_PRIVATE
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
        state = self.polls.get(feed)
        try:
            if _is_url(feed):
                fetched = self._fetch_url(feed, state)
            else:
                fetched = self._read_file(feed, state)
            if fetched is None:
                self.polls.record(feed, status="not modified")
                return Poll(feed, "not modified", seconds=time.perf_counter() - started)
            data, validators = fetched
            articles = parse_feed(data, feed, feed_url=feed if _is_url(feed) else None)
            items = (
                with_pages(articles, self.client, allow_private=self.allow_private)
                if self.fetch_pages
                else articles
            )
            report = self.ingest(items)
        except (InputError, OSError, sqlite3.OperationalError, ArchiveBusy, StorageFull) as exc:
            message = str(exc) if isinstance(exc, InputError) else f"{feed}: {exc}"
            message = message.removeprefix(f"{feed}: ")
            self.polls.record(feed, status="failed", error=message)
            return Poll(feed, "failed", error=message, seconds=time.perf_counter() - started)
        # Validators are saved only after the entries are committed, so a crash in between
        # means the entries are fetched again, never skipped.
        self.polls.record(feed, status="updated", new=report.new + report.changed, **validators)
        return Poll(feed, "updated", len(articles), report, seconds=time.perf_counter() - started)

    def _fetch_url(
        self, url: str, state: dict[str, Any]
    ) -> tuple[bytes, dict[str, str | None]] | None:
        headers = {}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("last_modified"):
            headers["If-Modified-Since"] = state["last_modified"]
        response = get(self.client, url, headers, allow_private=self.allow_private)
        if response.status_code == 304:
            return None
        check(url, response)
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
        return read_capped(Path(path)), {"etag": tag, "last_modified": None}


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))
