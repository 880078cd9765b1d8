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
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO watches (name, request, created_at, checked_at, checked_generation) "
                "VALUES (?, ?, ?, NULL, ?) ON CONFLICT(name) DO UPDATE SET "
                "request = excluded.request, created_at = excluded.created_at, "
                "checked_at = NULL, checked_generation = excluded.checked_generation",
                [name, request, _now(), generation],
            )

    def rows(self, name: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT name, request, created_at, checked_at, checked_generation FROM watches"
        columns = ("name", "request", "created_at", "checked_at", "checked_generation")
        with self.store.reading() as conn:
            if name is None:
                rows = conn.execute(sql + " ORDER BY name").fetchall()
            else:
                rows = conn.execute(sql + " WHERE name = ?", [name]).fetchall()
        return [dict(zip(columns, row)) for row in rows]

    def count(self) -> int:
        with self.store.reading() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM watches").fetchone()[0])

    def mark(self, name: str, generation: int) -> str:
        """Record a check up to `generation`; returns its time."""
        now = _now()
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE watches SET checked_at = ?, checked_generation = ? WHERE name = ?",
                [now, generation, name],
            )
        return now

    def delete(self, name: str) -> bool:
        with self.store.transaction() as conn:
            return bool(conn.execute("DELETE FROM watches WHERE name = ?", [name]).rowcount)

    def generation(self) -> int:
        return self.store.generation()
