"""One name per outlet, kept in the archive (the rule itself is archive/outlets.py).

The first name a page of an outlet gives itself (og:site_name) becomes the outlet's name: later
pages and every feed entry of that registered domain are stored under it, and articles stored
under the bare domain before it was known are renamed. A source given explicitly is never
touched. The other names an article's outlet goes by (its domain, its own site name, its feed's
title) are kept in `source_aliases`, so `--source` resolves them to stored source names and the
filter stays one indexed `source IN (...)`. Runs inside the store's write transactions.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..outlets import SITE, SOURCE_KEYS, is_derived


def outlet_name(
    conn: sqlite3.Connection, source: str | None, metadata: dict[str, Any]
) -> str | None:
    """The source to store for an article (or a copy) with these metadata."""
    domain = metadata.get(SITE)
    if not domain or not is_derived(source, metadata):
        return source
    known = conn.execute("SELECT name FROM outlets WHERE domain = ?", [domain]).fetchone()
    if known:
        return known[0]
    if source != domain:  # a page named the outlet: the name from now on, and for what came before
        conn.execute("INSERT INTO outlets (domain, name) VALUES (?, ?)", [domain, source])
        for table in ("articles", "article_copies"):
            conn.execute(
                f"UPDATE {table} SET source = ? WHERE source = ? "
                "AND json_extract(metadata, '$.site') = ?",
                [source, domain, domain],
            )
        conn.execute(
            "UPDATE OR IGNORE source_aliases SET source = ? WHERE source = ?", [source, domain]
        )
        conn.execute("DELETE FROM source_aliases WHERE source = ?", [domain])
    return source


def record_aliases(conn: sqlite3.Connection, source: str | None, metadata: dict[str, Any]) -> None:
    """Remember the other names of a stored article's outlet (and its feed), for `--source`."""
    if not source:
        return
    for key in SOURCE_KEYS:
        alias = metadata.get(key)
        if isinstance(alias, str) and alias:
            conn.execute(
                "INSERT OR IGNORE INTO source_aliases (alias, kind, source) VALUES (?, ?, ?)",
                [alias, key, source],
            )
