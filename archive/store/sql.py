"""Small SQLite helpers shared by the store and the dedup tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any


def select_in(
    conn: sqlite3.Connection,
    sql: str,
    values: Iterable[Any],
    size: int = 500,
    params: Sequence[Any] = (),
) -> list[tuple]:
    """Rows of `sql`, whose `{marks}` becomes an IN list over `values` (and `params` the
    parameters after it).

    Run in chunks, because SQLite caps the number of bound parameters in one statement.
    """
    values = list(values)
    rows: list[tuple] = []
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        marks = ",".join("?" * len(chunk))
        rows.extend(conn.execute(sql.format(marks=marks), [*chunk, *params]).fetchall())
    return rows
