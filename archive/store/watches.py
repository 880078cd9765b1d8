"""Saved searches (search/watches.py's WatchTable): a name, the search as JSON, and the database
generation it was last checked at, so a check lists exactly the articles first stored since.
Not archive content: no generation bump."""

from __future__ import annotations

from typing import Any

from .store import Store, _now


class WatchTable:
    """The `watches` table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, name: str, request: str, generation: int) -> None:
        """Save (or replace) a search; it counts as checked at `generation`."""
        conn = self.store.conn
        with self.store.lock, conn:
            conn.execute(
                "INSERT INTO watches (name, request, created_at, checked_at, checked_generation) "
                "VALUES (?, ?, ?, NULL, ?) ON CONFLICT(name) DO UPDATE SET "
                "request = excluded.request, created_at = excluded.created_at, "
                "checked_at = NULL, checked_generation = excluded.checked_generation",
                [name, request, _now(), generation],
            )

    def rows(self, name: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT name, request, created_at, checked_at, checked_generation FROM watches"
        with self.store.lock:
            if name is None:
                return list(self.store.db.query(sql + " ORDER BY name"))
            return list(self.store.db.query(sql + " WHERE name = ?", [name]))

    def count(self) -> int:
        with self.store.lock:
            return int(self.store.conn.execute("SELECT COUNT(*) FROM watches").fetchone()[0])

    def mark(self, name: str, generation: int) -> str:
        """Record a check up to `generation`; returns its time."""
        now = _now()
        conn = self.store.conn
        with self.store.lock, conn:
            conn.execute(
                "UPDATE watches SET checked_at = ?, checked_generation = ? WHERE name = ?",
                [now, generation, name],
            )
        return now

    def delete(self, name: str) -> bool:
        conn = self.store.conn
        with self.store.lock, conn:
            return bool(conn.execute("DELETE FROM watches WHERE name = ?", [name]).rowcount)

    def generation(self) -> int:
        return self.store.generation()
