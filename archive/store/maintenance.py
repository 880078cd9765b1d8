"""The database's own maintenance: a consistent copy while others read and write, and its
integrity checks (SQLite's pages and indexes, the FTS5 keyword indexes against the passages
and the leads).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ..errors import ArchiveDamaged
from .store import Store, damaged, sqlite_errors

MAX_PROBLEMS = 20  # integrity_check lines reported


def snapshot(source: Path, dest: Path) -> None:
    """Copy the database at `source` to the new file `dest` with SQLite's online backup API.

    It runs on a connection of its own, in one read transaction: in WAL mode writers go on
    committing meanwhile, and the copy is the database as of the moment it began.
    """
    with sqlite_errors(source):
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(str(dest))
            try:
                src.backup(dst)  # all pages in one step: one snapshot, never restarted
            finally:
                dst.close()
        finally:
            src.close()


def database_problems(
    path: Path, *, quick: bool = False, budget: float | None = None
) -> list[str] | None:
    """SQLite's `integrity_check` (or `quick_check`) of the file at `path`: [] when sound.

    With `budget` (seconds) the check stops when time is up and gives None (not checked): a
    quick check reads every page, about 1.7 s per 250 MB on the development machine.
    """
    pragma = "quick_check" if quick else "integrity_check"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if budget is not None:
                deadline = time.monotonic() + budget
                conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
            rows = conn.execute(f"PRAGMA {pragma}({MAX_PROBLEMS})").fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if budget is not None and "interrupted" in str(exc):
            return None
        return [str(exc)]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    problems = [
        line.strip()
        for row in rows
        for line in str(row[0]).splitlines()
        if line.strip() and not line.startswith("*** in database")
    ]
    return [] if problems == ["ok"] else problems[:MAX_PROBLEMS]


def quick_integrity(path: Path, budget: float) -> str:
    """SQLite's quick check for up to `budget` seconds: "ok", "not checked in N s", or
    ArchiveDamaged naming the first problem."""
    problems = database_problems(path, quick=True, budget=budget)
    if problems:
        raise damaged(path, problems[0])
    return "ok" if problems == [] else f"not checked in {budget:g} s"


PASSAGES_FTS = "passages_fts"
LEADS_FTS = "leads_fts"  # the leads' FTS5 index (schema.py's m008_leads)
_FTS_TABLES = (PASSAGES_FTS, LEADS_FTS)


def keyword_problem(store: Store, table: str = PASSAGES_FTS) -> str | None:
    """FTS5's own `integrity-check` of a keyword index (the passages', or the leads' with
    `LEADS_FTS`) against its table; None when they agree."""
    if table not in _FTS_TABLES:
        raise ValueError(f"not an FTS5 index of the archive: {table}")
    try:
        with store.transaction() as conn:
            conn.execute(f"INSERT INTO {table}({table}, rank) VALUES('integrity-check', 1)")
    except ArchiveDamaged as exc:  # SQLITE_CORRUPT_VTAB: the index disagrees with the table
        return str(exc.__cause__ or exc)
    return None


def rebuild_keyword(store: Store, table: str = PASSAGES_FTS) -> None:
    """Rebuild an FTS5 index from its table (what `reindex` does when it is broken)."""
    if table not in _FTS_TABLES:
        raise ValueError(f"not an FTS5 index of the archive: {table}")
    with store.transaction() as conn:
        conn.execute(f"INSERT INTO {table}({table}) VALUES('rebuild')")
