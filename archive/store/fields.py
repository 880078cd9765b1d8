"""The metadata fields present in the archive, counted per article, kept in step by every
write and removal (inside the same transaction).

`--where topic=grain` on an archive whose field is `topics` matches nothing; with the fields
known, that is an error listing them (search/filters.py) instead of an empty page. Counting
keeps the list to fields some article still has.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def _keys(metadata: str | dict[str, Any] | None) -> set[str]:
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return set()
    return set(metadata) if isinstance(metadata, dict) else set()


def recount(
    conn: sqlite3.Connection,
    old: str | dict[str, Any] | None,
    new: str | dict[str, Any] | None,
) -> None:
    """An article's metadata went from `old` to `new` (None: it did not exist / was removed)."""
    before, after = _keys(old), _keys(new)
    for name in after - before:
        conn.execute(
            "INSERT INTO metadata_fields (name, articles) VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET articles = articles + 1",
            [name],
        )
    for name in before - after:
        conn.execute("UPDATE metadata_fields SET articles = articles - 1 WHERE name = ?", [name])
        conn.execute("DELETE FROM metadata_fields WHERE name = ? AND articles <= 0", [name])


def present(conn: sqlite3.Connection) -> set[str]:
    """Every metadata field at least one article has."""
    return {row[0] for row in conn.execute("SELECT name FROM metadata_fields")}
