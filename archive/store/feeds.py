"""What the archive remembers of followed feeds between polls and runs: the validators of the
last answer (ETag, Last-Modified) for a conditional request, and the outcome of the last poll.
Not archive content: no generation bump."""

from __future__ import annotations

from typing import Any

from .store import Store, _now


class FeedPolls:
    """The `feeds` table (ingest/follow.py's PollState)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, feed: str) -> dict[str, Any]:
        with self.store.reading() as conn:
            cursor = conn.execute("SELECT * FROM feeds WHERE url = ?", [feed])
            columns = [c[0] for c in cursor.description]
            row = cursor.fetchone()
        return dict(zip(columns, row)) if row else {}

    def record(
        self,
        feed: str,
        *,
        status: str,
        error: str | None = None,
        new: int = 0,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Record a poll; validators are replaced only by a successful fetch."""
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO feeds (url) VALUES (?) ON CONFLICT(url) DO NOTHING", [feed])
            conn.execute(
                "UPDATE feeds SET last_polled = ?, last_status = ?, last_error = ?, "
                "polls = polls + 1, articles_new = articles_new + ? WHERE url = ?",
                [_now(), status, error, new, feed],
            )
            if status == "updated":
                conn.execute(
                    "UPDATE feeds SET etag = ?, last_modified = ? WHERE url = ?",
                    [etag, last_modified, feed],
                )
