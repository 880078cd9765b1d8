"""The database's own maintenance: a consistent copy while others read and write, and its
integrity checks (SQLite's pages and indexes, the FTS5 keyword index against the passages).
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


def keyword_problem(store: Store) -> str | None:
    """FTS5's own `integrity-check` of the keyword index against the passages; None when
    they agree."""
    try:
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO passages_fts(passages_fts, rank) VALUES('integrity-check', 1)"
            )
    except ArchiveDamaged as exc:  # SQLITE_CORRUPT_VTAB: the index disagrees with the table
        return str(exc.__cause__ or exc)
    return None


def rebuild_keyword(store: Store) -> None:
    """Rebuild the FTS5 index from the passages table (what `reindex` does when it is broken)."""
    with store.transaction() as conn:
        conn.execute("INSERT INTO passages_fts(passages_fts) VALUES('rebuild')")
