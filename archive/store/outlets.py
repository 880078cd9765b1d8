"""One name per outlet, kept in the archive (the rule itself is archive/outlets.py).

The first name a page of an outlet gives itself (og:site_name) becomes the outlet's name: later
pages and every feed entry of that registered domain are stored under it, and articles stored
under the bare domain before it was known are renamed. A source given explicitly is never
touched. Runs inside the store's write transactions.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..outlets import SITE, is_derived


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
    return source
