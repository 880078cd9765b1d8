"""The vector index as a view of the database, kept in step by the database's generation.

Writes go to SQLite first (the source of truth), then to this in-memory view, then (later) to
its file. The file records the generation it reflects; any reader that finds the view behind
the database catches up from the database (tombstones of removed passages, passages with ids
above the largest one it holds) before answering, so a killed process or a second writer never
yields stale or wrong rows. Nothing here knows what an article is: the database is reached
through `VectorSource`, which the store implements.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from .vectors import AUTO_THRESHOLD, VectorIndex, auto_kind, build_index, load_index, saved_kind

KIND_CHOICES = ("auto", "flat", "ivf", "hnsw")


class VectorSource(Protocol):
    """What the view reads of the database."""

    def generation(self) -> int: ...

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


class VectorView:
    """The FAISS index at `path`, following `source`.

    `dimension` and `configured_kind` are asked when needed (the archive's dimension may come
    from the model, which loads lazily; the configured kind may change). `threshold` is where
    `auto` moves from flat to ivf.
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
        self._max_id = -1
        self._dirty = False  # in memory, newer than the file

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
                self._index, self._generation = load_index(self.path, self._dimension())
                ids = self._index.ids()
                self._max_id = int(ids.max()) if len(ids) else -1
                if self._generation is None and len(self._index) == 0:
                    self._generation = 0
            self.catch_up()
            self._change_kind_if_configured()
            return self._index

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
            current = self.source.generation()
            if self._generation == current:
                return {"added": 0, "removed": 0}
            stale = self._generation is not None and (
                self._generation > current  # ahead of the database (restored from a backup)
                or self._generation < self.source.tombstones_pruned_through()
            )
            if self._generation is None or stale:
                # Unknown, ahead, or older than the removals still listed: compare all ids.
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
            self._generation = current
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
        self, removed: np.ndarray, added: np.ndarray, vectors: np.ndarray, generation: int
    ) -> None:
        """Mirror the database write that committed `generation`."""
        with self.lock:
            if self._index is None or self._generation is None:
                return  # loaded (and caught up) lazily later
            if self._generation >= generation:
                return  # a catch-up already read this write from the database
            if self._generation == generation - 1:
                self._index.remove(removed)
                self._index.add(added, vectors)
                if len(added):
                    self._max_id = max(self._max_id, int(added.max()))
                self._generation = generation
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
                self._index.save(self.path, self._generation)
                self._dirty = False
                self.source.prune_tombstones(self._generation)

    def rebuild(self) -> VectorIndex:
        """A new index of the configured kind from every vector in the database, saved."""
        with self.lock:
            generation = self.source.generation()
            chunks = list(self.source.iter_vectors())
            dimension = self._dimension()
            ids = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.int64)
            vectors = (
                np.vstack([c[1] for c in chunks])
                if chunks
                else np.zeros((0, dimension), np.float32)
            )
            del chunks
            wanted = self._configured_kind()
            if wanted == "auto":
                wanted = auto_kind(len(ids), self.threshold)
            if len(ids) == 0:
                wanted = "flat"  # IVF needs vectors to train on; it is built once there are some
            self._index = build_index(wanted, dimension, ids, vectors)
            self._generation = generation
            self._max_id = int(ids.max()) if len(ids) else -1
            self.catch_up()  # anything written while we read
            self._dirty = True
            self.save()
            return self._index
