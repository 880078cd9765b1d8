"""The keyword index of an archive folder (`<archive>/keywords/`), kept in step with SQLite.

Like the FAISS view (index/sync.py), the index is derived: SQLite is the source of truth, and
the index records the database lineage it reflects (archive id, generation and its token). An
index of another archive or of another history of this one (a restored backup) is not used:
FTS5 answers until the next write or `reindex` builds it anew. A reader that finds it behind
catches it up before answering, from the generation counter, the tombstones of removed passages, the
passages above the largest id it holds, and the change log of articles whose date, source or
metadata changed without new text (migration m006). Nothing here knows what an article is: the
database is reached through `KeywordSource`, which archive/store/derived.py implements.

Layout and crash safety:

    keywords/CURRENT              the name of the index in use (replaced atomically)
    keywords/index-<hex>/         tantivy's files, and stamp.json: {lineage, max_id, ...}
    keywords/.lock                held by whoever writes the index in use (any process)
    keywords/.rebuild.lock        held by a build, start to swap

A catch-up is one tantivy commit (atomic: the index is the old one or the new one), then a
stamp written beside it (temp file, fsync, rename). A crash between the two leaves an older
stamp over a newer commit; the next catch-up applies the same changes again, and they are
idempotent (deletes by id, and every add deletes its id first). A build (`rebuild`) writes a
new index aside, stamps it, catches it up with what was written meanwhile, then swaps
CURRENT; searches use the old index (or FTS5) until then, and a crashed build leaves a folder
nothing names, removed by the next build. So the index is never seen half-written.

The switch by size: below `threshold` passages there is no index and `search` answers None
(the caller keeps FTS5, which the database maintains anyway); `ensure` builds the index once
the archive passes the threshold (the vector index's flat -> ivf size), and from then on it is
kept for good, like the flat -> ivf switch. `search` also answers None, for that query only,
when its filters cannot be said exactly in the index (`where` on id, title, author or url;
dates not in ISO form), or when the index cannot be read or written: FTS5 answers instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..sync import lineage_problem
from .analysis import Analyzer, default_analyzer, parse_query
from .tantivy_index import KeywordFilter, KeywordRow, TantivyIndex, UnsupportedFilter

KEYWORD_THRESHOLD = 100_000  # passages: the vector index's flat -> ivf threshold
FORMAT = 1  # of the index layout (tantivy_index.schema) and the stamp
BATCH = 10_000  # passages read from SQLite and written per batch
BUILD_HEAP = 256_000_000  # bytes of tantivy writer memory for a full build
# tantivy keeps a deleted (or replaced) passage in its segment, counted in BM25's statistics,
# until a merge takes that segment; past this share of deletes since the build, `ensure`
# builds the index anew.
REBUILD_DELETED = 0.25
log = logging.getLogger(__name__)

# (passage id, text, date, source, metadata {field: [values as text]})
RowTuple = tuple[int, str, "str | None", "str | None", "dict[str, list[str]]"]


class StaleIndex(ValueError):
    """The index is not of the database's history (another archive, a restored backup)."""


class KeywordSource(Protocol):
    """What the keyword view reads of the database (archive/store/derived.py implements it)."""

    def generation(self) -> int: ...

    def lineage(self) -> tuple[str, int, str]:
        """(archive id, generation, the generation's token), read together."""
        ...

    def token_at(self, generation: int) -> str | None: ...

    def passage_count(self) -> int: ...

    def max_passage_id(self) -> int: ...

    def passage_ids(self) -> np.ndarray: ...

    def tombstones_pruned_through(self) -> int: ...

    def keyword_changes(self, generation: int, max_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids removed after `generation`, passage ids to index again: those above
        `max_id` and those of articles whose date, source or metadata changed after it)."""
        ...

    def keyword_rows(
        self, ids: Sequence[int] | None = None, *, batch: int = BATCH
    ) -> Iterator[list[RowTuple]]:
        """Rows of these passages (all of them when None), in batches, by ascending id."""
        ...


def _fsync_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock across processes (and across threads holding other descriptors)."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class KeywordView:
    """The tantivy index at `folder`, following `source`; None answers mean "use FTS5"."""

    def __init__(
        self,
        folder: Path,
        source: KeywordSource,
        *,
        threshold: int = KEYWORD_THRESHOLD,
        analyzer: Analyzer | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.source = source
        self.threshold = threshold
        self.analyzer = analyzer or default_analyzer()
        self.lock = threading.RLock()  # guards what this process holds open
        self._index: TantivyIndex | None = None
        self._name: str | None = None  # the index folder opened
        self._stamp: dict[str, Any] | None = None  # what the opened index reflects
        self.error: str | None = None  # why the last search fell back to FTS5, if it failed
        self._current_key: tuple[int, ...] | None = None  # CURRENT's stat when last read
        self._current_read: str | None = None  # and what it named

    # -- what is on disk ---------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Whether the archive has a keyword index (it passed the threshold once)."""
        return (self.folder / "CURRENT").is_file()

    def _current_name(self) -> str | None:
        """The index CURRENT names. Read again only when the file is another one (a swap
        replaces it: new inode) or was rewritten: a stat per search instead of a read."""
        path = self.folder / "CURRENT"
        try:
            info = os.stat(path)
            key = (info.st_ino, info.st_dev, info.st_mtime_ns, info.st_size)
            if key == self._current_key:
                return self._current_read
            name = path.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        name = name if name.startswith("index-") and "/" not in name else None
        self._current_key, self._current_read = key, name
        return name

    def _read_stamp(self, name: str) -> dict[str, Any] | None:
        try:
            stamp = json.loads((self.folder / name / "stamp.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(stamp, dict) or stamp.get("format") != FORMAT:
            return None
        keys = ("generation", "max_id", "passages", "deleted")
        if not all(isinstance(stamp.get(k), int) for k in keys):
            return None
        return stamp

    def _write_stamp(
        self,
        name: str,
        lineage: tuple[str, int, str],
        max_id: int,
        count: int,
        deleted: int = 0,
    ) -> dict:
        archive_id, generation, token = lineage
        stamp = {
            "format": FORMAT,
            "archive_id": archive_id,  # the database's lineage it reflects (index/sync.py)
            "generation": generation,
            "token": token,
            "max_id": max_id,
            "passages": count,
            "deleted": deleted,  # deletes applied since the build (an upper bound of those kept)
        }
        _fsync_write(self.folder / name / "stamp.json", json.dumps(stamp))
        return stamp

    def _open(self) -> TantivyIndex | None:
        """The index CURRENT names, opened, or reopened when another process swapped it;
        None when there is none or it cannot be used (then `ensure` builds it anew)."""
        name = self._current_name()
        if name is None:
            self._index = self._name = self._stamp = None
            return None
        if name != self._name or self._index is None:
            stamp = self._read_stamp(name)
            if stamp is None:
                self._index = self._name = self._stamp = None
                return None
            self._index, self._name, self._stamp = TantivyIndex(self.folder / name), name, stamp
        return self._index

    # -- reading -----------------------------------------------------------------------------
    def current(self) -> TantivyIndex | None:
        """The index, opened and caught up with the database; None when there is none.

        Raises StaleIndex when the index is not of the database's history (`ensure` or
        `rebuild` replaces it; until then `search` lets FTS5 answer)."""
        with self.lock:
            index = self._open()
            if index is not None:
                stamp = self._stamp
                if (stamp.get("archive_id"), stamp["generation"], stamp.get("token")) != (
                    self.source.lineage()
                ):
                    self.catch_up()
                    index = self._index
            return index

    def search(
        self, query: str, filters: KeywordFilter | None, k: int
    ) -> list[tuple[int, float]] | None:
        """Top-k (passage id, BM25), best first, ties by id; None: let FTS5 answer this one."""
        try:
            index = self.current()
            if index is None:
                return None
            return index.search(parse_query(query, self.analyzer), filters, k)
        except UnsupportedFilter:
            return None
        except (OSError, ValueError, RuntimeError) as exc:  # an unreadable or unwritable index
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("keyword index at %s failed (%s); FTS5 answers", self.folder, self.error)
            return None

    def audit(self) -> str | None:
        """For `check`: why the tantivy index cannot answer now, or None (it can, or the archive
        is small enough for FTS5). Catches it up first, as any reader does."""
        what = f"the keyword index at {self.folder}"
        try:
            with self.lock:
                if not self.active:
                    if self.source.passage_count() < self.threshold:
                        return None
                    return f"{what} is missing (FTS5 answers until a write or reindex builds it)"
                name = self._current_name()
                problem = lineage_problem(self._read_stamp(name) if name else None, self.source)
                if problem is not None:
                    return f"{what}: {problem}"
                index = self.current()
                if index is None:
                    return f"{what} cannot be read"
                held, stored = len(index), self.source.passage_count()
                if held != stored:
                    return f"{what} holds {held} passages, the database {stored}"
        except (OSError, ValueError, RuntimeError) as exc:
            return f"{what} cannot be read ({type(exc).__name__}: {exc})"
        return None

    # -- keeping in step ---------------------------------------------------------------------
    def catch_up(self) -> dict[str, int]:
        """Bring the index in use up to the database's generation; what changed."""
        with self.lock:
            if not self.active:
                return {}
            self.folder.mkdir(parents=True, exist_ok=True)
            with _file_lock(self.folder / ".lock"):
                self._name = None  # re-read CURRENT and the stamp: another process may have
                index = self._open()  # swapped or advanced them
                if index is None:
                    return {}
                index.reload()
                self._stamp, changes = self._apply(index, self._name, self._stamp)
                return changes

    def _apply(
        self, index: TantivyIndex, name: str, stamp: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, int]]:
        """Apply the database's changes after `stamp` to `index` (the caller holds .lock); the
        new stamp, written after the commit, and what changed."""
        lineage = self.source.lineage()
        problem = lineage_problem(stamp, self.source)
        if problem is not None:  # another archive, or another history of this one
            self._index = self._name = self._stamp = None
            raise StaleIndex(f"{self.folder}: {problem}; it is built anew by the next write")
        generation, max_id = stamp["generation"], stamp["max_id"]
        if generation == lineage[1]:
            return stamp, {"removed": 0, "added": 0}
        removed, again = self.source.keyword_changes(generation, max_id)
        if generation < self.source.tombstones_pruned_through():
            # the removals since `generation` are no longer listed: compare ids instead
            in_db = self.source.passage_ids()
            removed = np.setdiff1d(np.asarray(index.ids(), dtype=np.int64), in_db)
        if len(removed) or len(again):
            index.write(removed.tolist(), self._rows(again.tolist()), self.analyzer)
        deleted = stamp.get("deleted", 0) + len(removed) + int((again <= max_id).sum())
        if len(again):
            max_id = max(max_id, int(np.max(again)))
        new = self._write_stamp(name, lineage, max_id, len(index), deleted)
        return new, {"removed": int(len(removed)), "added": int(len(again))}

    def _rows(self, ids: Sequence[int] | None) -> Iterable[list[KeywordRow]]:
        for batch in self.source.keyword_rows(ids):
            yield [KeywordRow(*row) for row in batch]

    # -- building ----------------------------------------------------------------------------
    def ensure(self) -> bool:
        """Switch the index on once the archive is past the threshold (building it), else catch
        it up; whether the archive now has a usable keyword index. Call where writes end.

        An index that cannot be read is built anew. A failure is logged and kept in `error`,
        not raised: the database write that came before is done, and FTS5 still answers.
        """
        try:
            with self.lock:
                try:
                    if self.active and self.current() is not None:
                        stamp = self._stamp
                        if stamp["deleted"] <= REBUILD_DELETED * max(1, stamp["passages"]):
                            return True
                        log.info("keyword index at %s: rebuilt to drop deletions", self.folder)
                except (OSError, ValueError, RuntimeError) as exc:  # unreadable: build anew
                    log.warning("keyword index at %s unreadable (%s)", self.folder, exc)
            if not self.active:
                if self.source.max_passage_id() < self.threshold:  # ids only grow: a bound
                    return False
                if self.source.passage_count() < self.threshold:
                    return False
            self.rebuild()
            return True
        except (OSError, ValueError, RuntimeError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("keyword index at %s not built (%s); FTS5 answers", self.folder, self.error)
            return False

    def rebuild(self) -> dict[str, Any]:
        """A new index of every passage, built aside, caught up, then swapped in."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.folder / ".rebuild.lock"):
            self._remove_unnamed()
            name = f"index-{uuid.uuid4().hex}"
            index = TantivyIndex(self.folder / name, create=True)
            lineage = self.source.lineage()
            seen = [-1]

            def rows() -> Iterator[list[KeywordRow]]:
                for batch in self._rows(None):
                    seen[0] = max(seen[0], batch[-1].passage_id)
                    yield batch

            index.write([], rows(), self.analyzer, upsert=False, heap=BUILD_HEAP)
            stamp = self._write_stamp(name, lineage, seen[0], len(index))
            with self.lock, _file_lock(self.folder / ".lock"):
                stamp, _ = self._apply(index, name, stamp)  # what was written meanwhile
                old = self._current_name()
                _fsync_write(self.folder / "CURRENT", name + "\n")
                self._index, self._name, self._stamp = index, name, stamp
                if old is not None and old != name:
                    shutil.rmtree(self.folder / old, ignore_errors=True)
            return {"passages": len(index), "generation": stamp["generation"]}

    def _remove_unnamed(self) -> None:
        """Folders of builds that crashed before their swap (the caller holds .rebuild.lock,
        so no build is running)."""
        keep = self._current_name()
        for path in self.folder.glob("index-*"):
            if path.is_dir() and path.name != keep:
                shutil.rmtree(path, ignore_errors=True)

    def stats(self) -> dict[str, Any]:
        """For `stats`: which engine answers keyword queries, and the index's bytes on disk."""
        with self.lock:
            name = self._current_name()
            stamp = self._read_stamp(name) if name else None
        if stamp is None:
            return {"keyword_index": "fts5", "keyword_index_bytes": 0}
        size = sum(p.stat().st_size for p in (self.folder / name).iterdir() if p.is_file())
        return {"keyword_index": "tantivy", "keyword_index_bytes": size}
