"""The vector index as a view of the database, kept in step by the database's generation.

Writes go to SQLite first (the source of truth), then to this in-memory view, then (later) to
its file. The file records the database's lineage as it reflects it: the archive's id, the
generation and that generation's random token, and the largest passage id it has seen. A file
is trusted only when that lineage is the database's own history: an index of another archive,
one ahead of the database, one from another history of it (a database restored from a backup
and written since, which reuses passage ids and may even reach the same generation number), or
one holding passage ids the database never issued, is rebuilt from the database's vectors
instead. A trusted file that is behind catches up from the database (tombstones of removed
passages, passages with ids above the largest it holds) before answering, so a killed process
or a second writer never yields stale or wrong rows, and the caught-up view is saved.
Nothing here knows what an article is: the database is reached through `VectorSource`, which
the store implements.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .vectors import (
    AUTO_THRESHOLD,
    VectorIndex,
    auto_kind,
    build_index,
    copy_files,
    load_saved,
    read_stamp,
    saved_kind,
)

KIND_CHOICES = ("auto", "flat", "ivf", "hnsw")


class VectorSource(Protocol):
    """What the view reads of the database."""

    def lineage(self) -> tuple[str, int, str]:
        """(archive id, generation, the generation's token)."""
        ...

    def token_at(self, generation: int) -> str | None: ...

    def max_passage_id(self) -> int: ...

    def changes_since(self, generation: int, max_id: int) -> tuple[np.ndarray, np.ndarray]: ...

    def passage_ids(self) -> np.ndarray: ...

    def vectors_for(self, ids: list[int] | np.ndarray, dimension: int) -> np.ndarray: ...

    def iter_vectors(self, batch: int = 10000) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...

    def tombstones_pruned_through(self) -> int:
        """The generation up to which removals are no longer listed (0: none pruned)."""
        ...

    def prune_tombstones(self, through: int) -> None:
        """Forget the removals of generations up to `through` (a saved file holds them)."""
        ...


class TokenSource(Protocol):
    def token_at(self, generation: int) -> str | None: ...


def follows(
    held: tuple[str, int | None, str | None] | None,
    lineage: tuple[str, int, str],
    source: TokenSource,
) -> bool:
    """Whether `held`, the (archive id, generation, token) an in-memory view reflects, is a
    state of the history the database is at now (`lineage`): the same archive, not ahead of
    it, and the database still knows that generation by the same token. When it is not (a
    database restored from a backup, another archive), the view is built anew instead of
    caught up. The FAISS view, the passage map and the sharded view all ask this."""
    if held is None or held[1] is None:
        return False
    archive_id, generation, token = held
    return (
        archive_id == lineage[0]
        and generation <= lineage[1]
        and source.token_at(generation) == token
    )


def lineage_problem(stamp: dict[str, Any] | None, source: VectorSource) -> str | None:
    """Why a saved index (its stamp) cannot be caught up from `source`, or None when it can."""
    if stamp is None:
        return "no readable index file"
    archive_id, generation, _ = source.lineage()
    if not stamp.get("archive_id") or not stamp.get("token"):
        return "the index file predates lineage stamps"
    if stamp["archive_id"] != archive_id:
        return "the index file belongs to another archive"
    saved = int(stamp["generation"])
    if saved > generation:
        return (
            f"the index file is ahead of the database (generation {saved} > {generation}; "
            "a database restored from a backup?)"
        )
    if source.token_at(saved) != stamp["token"]:
        return (
            "the index file is from another history of this archive (a database restored "
            "from a backup and written since)"
        )
    if int(stamp.get("max_id", -1)) > source.max_passage_id():
        return "the index file holds passage ids the database never had"
    return None


class VectorView:
    """The FAISS index at `path`, following `source`.

    `dimension` and `configured_kind` are asked when needed (the archive's dimension may come
    from the model, which loads lazily; the configured kind may change). `threshold` is where
    `auto` moves from flat to ivf. `rebuilt_because` says why the last load rebuilt the index
    from the database instead of trusting its file (None: it did not).
    """

    def __init__(
        self,
        path: Path,
        source: VectorSource,
        dimension: Callable[[], int],
        configured_kind: Callable[[], str],
        *,
        threshold: int = AUTO_THRESHOLD,
    ) -> None:
        self.path = path
        self.source = source
        self._dimension = dimension
        self._configured_kind = configured_kind
        self.threshold = threshold
        self.lock = threading.RLock()  # guards the in-memory index
        self._index: VectorIndex | None = None
        self._generation: int | None = None  # of the database, as the in-memory index holds it
        self._token = ""  # that generation's token
        self._archive_id = ""
        self._max_id = -1
        self._dirty = False  # in memory, newer than the file
        self.rebuilt_because: str | None = None

    @property
    def loaded(self) -> bool:
        return self._index is not None

    @property
    def kind(self) -> str | None:
        """The kind in memory, else the saved one, else None (no index yet)."""
        return self._index.kind if self._index is not None else saved_kind(self.path)

    def current(self) -> VectorIndex:
        """The index, loaded on first use and caught up with the database."""
        with self.lock:
            if self._index is None:
                self._load()
            self.catch_up()
            self._change_kind_if_configured()
            return self._index

    def _load(self) -> None:
        """The saved index when its lineage is the database's, else one built from the
        database's vectors."""
        index, stamp = load_saved(self.path, self._dimension())
        problem = lineage_problem(stamp, self.source)
        if problem is None:
            self._index = index
            self._generation = int(stamp["generation"])
            self._token = stamp["token"]
            self._archive_id = stamp["archive_id"]
            ids = index.ids()
            self._max_id = int(ids.max()) if len(ids) else -1
            self.rebuilt_because = None
            return
        self._from_database()
        # An archive without vectors has nothing to rebuild: not worth reporting.
        self.rebuilt_because = problem if len(self._index) or stamp is not None else None

    def _from_database(self, kind: str | None = None) -> None:
        """Build the in-memory index from every vector in the database (its file untouched)."""
        archive_id, generation, token = self.source.lineage()
        chunks = list(self.source.iter_vectors())
        dimension = self._dimension()
        ids = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.int64)
        vectors = (
            np.vstack([c[1] for c in chunks]) if chunks else np.zeros((0, dimension), np.float32)
        )
        del chunks
        wanted = kind or self._configured_kind()
        if wanted == "auto":
            wanted = auto_kind(len(ids), self.threshold)
        if len(ids) == 0:
            wanted = "flat"  # IVF needs vectors to train on; it is built once there are some
        self._index = build_index(wanted, dimension, ids, vectors)
        self._archive_id, self._generation, self._token = archive_id, generation, token
        self._max_id = int(ids.max()) if len(ids) else -1
        self._dirty = True

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (passage id, cosine) over the caught-up index."""
        with self.lock:  # a concurrent write may be mutating the index
            return self.current().search(query, k, allowed)

    def catch_up(self) -> dict[str, int]:
        """Bring the loaded index up to the database's generation; returns what changed."""
        with self.lock:
            if self._index is None:
                self.current()
                return {"added": 0, "removed": 0}
            archive_id, current, token = self.source.lineage()
            if self._generation == current and self._token == token:
                return {"added": 0, "removed": 0}
            held = (self._archive_id, self._generation, self._token)
            if not follows(held, (archive_id, current, token), self.source):
                # The database is not the one this view followed (restored underneath us).
                before = len(self._index)
                self._from_database()
                self.rebuilt_because = "the database changed history under the index"
                return {"added": len(self._index), "removed": before}
            if self._generation < self.source.tombstones_pruned_through():
                # Older than the removals still listed: compare all ids.
                in_db, in_index = self.source.passage_ids(), self._index.ids()
                removed, added = np.setdiff1d(in_index, in_db), np.setdiff1d(in_db, in_index)
            else:
                removed, added = self.source.changes_since(self._generation, self._max_id)
            self._index.remove(removed)
            for start in range(0, len(added), 10000):
                chunk = added[start : start + 10000]
                self._index.add(chunk, self.source.vectors_for(chunk, self._index.dimension))
            if len(added):
                self._max_id = max(self._max_id, int(added.max()))
            self._generation, self._token = current, token
            if len(added) or len(removed):
                self._dirty = True
            return {"added": int(len(added)), "removed": int(len(removed))}

    def _change_kind_if_configured(self) -> None:
        """Move the in-memory index to the configured kind (auto: ivf once past the threshold).

        `auto` only ever moves flat -> ivf here; going back happens on `rebuild`, so an archive
        hovering around the threshold is not rebuilt again and again.
        """
        configured = self._configured_kind()
        count = len(self._index)
        if configured == "auto":
            wanted = auto_kind(count, self.threshold)
            if wanted == "flat":
                return
        else:
            wanted = configured
        if wanted == self._index.kind or count == 0:
            return
        ids, vectors = self._index.vectors()
        self._index = build_index(wanted, self._index.dimension, ids, vectors)
        self._dirty = True

    def apply(
        self,
        removed: np.ndarray,
        added: np.ndarray,
        vectors: np.ndarray,
        generation: int,
        token: str = "",
    ) -> None:
        """Mirror the database write that committed `generation` (with `token`)."""
        with self.lock:
            if self._index is None or self._generation is None:
                return  # loaded (and caught up) lazily later
            if self._generation >= generation:
                return  # a catch-up already read this write from the database
            if self._generation == generation - 1 and token:
                self._index.remove(removed)
                self._index.add(added, vectors)
                if len(added):
                    self._max_id = max(self._max_id, int(added.max()))
                self._generation, self._token = generation, token
                self._dirty = True
            else:
                self.catch_up()  # another writer committed in between: read it from the database

    def save(self) -> None:
        """Write the file if the in-memory index has changes it lacks.

        Once the file holds generation G, the removals listed up to G are only needed by a
        reader whose index is older than G; such a reader compares all ids instead (see
        `catch_up`), so they are pruned here and the list does not grow forever.
        """
        with self.lock:
            if self._index is not None and self._dirty and self._generation is not None:
                self._index.save(
                    self.path,
                    self._generation,
                    archive_id=self._archive_id,
                    token=self._token,
                    max_id=self._max_id,
                )
                self._dirty = False
                self.source.prune_tombstones(self._generation)

    def file_is_current(self) -> bool:
        """Whether the saved file reflects the database as it is now (same lineage)."""
        stamp = read_stamp(self.path)
        if stamp is None or not self.path.exists():
            return False
        archive_id, generation, token = self.source.lineage()
        return (stamp.get("archive_id"), stamp.get("generation"), stamp.get("token")) == (
            archive_id,
            generation,
            token,
        )

    def rebuild(self) -> VectorIndex:
        """A new index of the configured kind from every vector in the database, saved."""
        with self.lock:
            self._from_database()
            self.catch_up()  # anything written while we read
            self.rebuilt_because = None
            self.save()
            return self._index

    def copy_to(self, dest: Path) -> dict[str, Any] | None:
        """Copy the saved index files into the folder `dest` as one consistent pair; returns
        their stamp (None: no readable index file)."""
        return copy_files(self.path, dest)

    def audit(self) -> dict[str, Any]:
        """Compare the saved file with the database without changing either: its lineage, the
        passages it lacks or holds in excess, and the vectors that differ from the stored
        ones. Reads every vector once, a chunk at a time."""
        index, stamp = load_saved(self.path, self._dimension())
        in_db = self.source.passage_ids()
        problem = lineage_problem(stamp, self.source)
        if stamp is None and not len(in_db):
            problem = None  # no vectors yet, so no index file yet: nothing is wrong
        report: dict[str, Any] = {
            "file": self.path.name,
            "kind": stamp.get("kind") if stamp else None,
            "generation": int(stamp["generation"]) if stamp else None,
            "database_generation": self.source.lineage()[1],
            "lineage": problem or "ok",
            "passages": len(index),
        }
        in_index = index.ids()
        missing = np.setdiff1d(in_db, in_index)
        extra = np.setdiff1d(in_index, in_db)
        common = np.intersect1d(in_db, in_index)
        differing = 0
        for start in range(0, len(common), 10000):
            chunk = common[start : start + 10000]
            stored = self.source.vectors_for(chunk, index.dimension)
            held = index.reconstruct(chunk)
            differing += int((np.abs(stored - held).max(axis=1) > 1e-5).sum())
        # A sound file that is only behind (a process killed before its save) is caught up
        # by the next command that loads it; passages it lacks or still holds are then normal.
        behind = (
            problem is None
            and stamp is not None
            and report["generation"] < (report["database_generation"])
        )
        report.update(
            missing=int(len(missing)),
            extra=int(len(extra)),
            wrong_vectors=int(differing),
            behind=bool(behind),
        )
        report["ok"] = (
            problem is None and not differing and (behind or not (len(missing) or len(extra)))
        )
        return report
