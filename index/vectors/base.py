"""A vector index keyed by passage id: inner product over L2-normalised vectors (= cosine).

The SQLite store is the source of truth and keeps every vector; an index is a fast, rebuildable
view of it (index/sync.py keeps it in step). Its file carries the store generation it reflects,
so a process killed between the two writes is detected on the next open and repaired.

Filters are an IDSelector applied inside the search, before ranking. An approximate index only
visits part of the collection, so a narrow filter would find too few passages there: filters
allowing few passages are answered exactly over those passages' vectors, and wider ones widen
the search in proportion to how much they exclude (each kind says how).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import faiss
import numpy as np

# FAISS's OpenMP threads fight the model (and each other) for the two cores; one query went
# from 19 ms to 8 ms with a single thread. OpenMP's thread count belongs to the calling thread,
# so searches set it again (server worker threads did not import this module).
faiss.omp_set_num_threads(1)

EXACT_FILTER_LIMIT = 20_000  # filters allowing at most this many passages are searched exactly
# Filters of at least BITMAP_MIN ids, whose largest id is under BITMAP_DENSITY times their
# count (a bitmap no larger than the id list itself), are passed to FAISS as a bitmap.
BITMAP_MIN = 1_000
BITMAP_DENSITY = 64


class VectorIndex:
    """Base of the index kinds (flat.py, ivf.py, hnsw.py)."""

    kind: ClassVar[str] = ""

    def __init__(self, dimension: int, index: faiss.Index | None = None, **stamp: Any) -> None:
        self.dimension = dimension
        self.index = index if index is not None else self.empty(dimension)
        self.deleted: set[int] = set()  # ids hidden from search (kinds that cannot delete)

    # -- what each kind defines ----------------------------------------------------------
    @classmethod
    def empty(cls, dimension: int) -> faiss.Index:
        """A new, empty FAISS index of this kind."""
        raise NotImplementedError

    @classmethod
    def build(cls, dimension: int, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
        """A new index of this kind over these vectors (trained on them when it needs it)."""
        built = cls(dimension)
        built.add(ids, vectors)
        return built

    def ids(self) -> np.ndarray:
        """Every indexed id, sorted."""
        ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        if self.deleted:
            ids = ids[~np.isin(ids, np.fromiter(self.deleted, np.int64))]
        return np.sort(ids)

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        return int(
            self.index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, np.int64)))
        )

    def search_parameters(
        self, k: int, selector: Any, allowed: np.ndarray | None
    ) -> faiss.SearchParameters | None:
        """The kind's search parameters for one query (`allowed`: the filter's ids)."""
        return faiss.SearchParameters(sel=selector) if selector is not None else None

    def stamp(self) -> dict[str, Any]:
        """What the kind needs saved beside the FAISS file to be loaded as it was."""
        return {}

    # -- shared ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.index.ntotal) - len(self.deleted)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything indexed, to rebuild as another kind without SQLite."""
        ids = self.ids()
        return ids, self.reconstruct(ids)

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """Stored vectors by passage id (every id must be in the index)."""
        if len(ids) == 0:
            return np.zeros((0, self.dimension), np.float32)
        return self.index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dimension)
        self.index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (id, cosine). `allowed` restricts the search itself, before ranking."""
        if len(self) == 0 or k <= 0:
            return []
        faiss.omp_set_num_threads(1)
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dimension)
        if allowed is not None:
            if len(allowed) == 0:
                return []
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            if self.kind != "flat" and len(allowed) <= EXACT_FILTER_LIMIT:
                return self._search_exact(query, k, allowed)
        k = min(k, len(self))
        keep: list[Any] = []  # the C++ selectors hold raw pointers to their parts
        selector = self._selector(allowed, keep)
        params = self.search_parameters(k, selector, allowed)
        scores, ids = self.index.search(query, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def _selector(self, allowed: np.ndarray | None, keep: list[Any]):
        """Allowed ids minus deleted ones, as one selector (its parts kept alive in `keep`)."""
        selector = None
        if allowed is not None:
            selector = id_selector(allowed, keep)
        if self.deleted:
            dead = faiss.IDSelectorBatch(np.fromiter(self.deleted, np.int64))
            alive = faiss.IDSelectorNot(dead)
            keep += [dead, alive]
            selector = alive if selector is None else faiss.IDSelectorAnd(selector, alive)
            keep.append(selector)
        return selector

    def _search_exact(
        self, query: np.ndarray, k: int, allowed: np.ndarray
    ) -> list[tuple[int, float]]:
        """Brute force over the allowed passages' vectors: exact, and cheap for few of them."""
        if self.deleted:
            allowed = allowed[~np.isin(allowed, np.fromiter(self.deleted, np.int64))]
        try:
            vectors = self.reconstruct(allowed)
        except RuntimeError:  # ids not (yet) in this view: keep those that are
            allowed = allowed[np.isin(allowed, self.ids())]
            vectors = self.reconstruct(allowed)
        if len(allowed) == 0:
            return []
        scores = vectors @ query[0]
        k = min(k, len(allowed))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((allowed[top], -scores[top]))]
        return [(int(allowed[i]), float(scores[i])) for i in top]

    def save(self, path: Path, generation: int, **lineage: Any) -> None:
        """Write atomically (temp file + rename) and record the store generation beside it,
        with `lineage` (the archive id and generation token the caller passes).

        The pair is written under the files' exclusive lock, so a reader (or a backup) that
        takes the shared lock always sees a FAISS file and the stamp written with it.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = {
            "generation": generation,
            "count": len(self),
            "kind": self.kind,
            **lineage,
            **self.stamp(),
        }
        # Temporary names of this process and thread alone: where the lock is not available
        # (no fcntl, a read-only lock file), two savers still never write into one file.
        unique = f"{os.getpid()}-{threading.get_ident()}.tmp"
        with files_locked(path, exclusive=True):
            tmp = path.with_name(f"{path.name}.{unique}")
            stamp_tmp = path.with_name(f"{stamp_path(path).name}.{unique}")
            try:
                faiss.write_index(self.index, str(tmp))
                stamp_tmp.write_text(json.dumps(stamp))
                os.replace(tmp, path)
                os.replace(stamp_tmp, stamp_path(path))
            finally:  # a failed write (a full disk) leaves no temporary file behind
                tmp.unlink(missing_ok=True)
                stamp_tmp.unlink(missing_ok=True)


def id_selector(allowed: np.ndarray, keep: list[Any]) -> faiss.IDSelector:
    """A selector of exactly the `allowed` ids (its buffers kept alive in `keep`).

    A wide filter (a date range over a quarter of a million passages) is a bitmap, one bit per
    id up to the largest: FAISS tests a bit instead of probing the hash set `IDSelectorBatch`
    builds for every query: at a million passages on IVF, 10.0 against 34.7 ms of CPU for a
    filter allowing 23% of them, 13.7 against 25.5 ms for 10%, 22.6 against 26.5 ms for 5%
    (bench/id_selector.py; the rest is the proportionally widened nprobe). Sparse filters,
    where the bitmap would outweigh the id list, stay a batch. Both select the same ids.
    """
    allowed = np.ascontiguousarray(allowed, dtype=np.int64)
    largest = int(allowed.max()) if len(allowed) else -1
    if len(allowed) < BITMAP_MIN or largest >= BITMAP_DENSITY * len(allowed):
        selector = faiss.IDSelectorBatch(allowed)
        keep.append(selector)
        return selector
    member = np.zeros(largest + 1, dtype=bool)
    member[allowed[allowed >= 0]] = True
    bits = np.packbits(member, bitorder="little")  # bit (i & 7) of byte (i >> 3): id i
    selector = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))
    keep += [bits, selector]
    return selector


def stamp_path(path: Path) -> Path:
    return path.with_suffix(".json")


def leftovers(path: Path) -> list[Path]:
    """Temporary files of saves of this index (`vectors.faiss.PID-THREAD.tmp`, its stamp's,
    and the fixed `vectors.faiss.tmp` / `vectors.json.tmp` of earlier versions)."""
    names = (path.name, stamp_path(path).name)
    return [found for name in names for found in path.parent.glob(f"{name}*.tmp")]


@contextmanager
def files_locked(path: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the advisory lock of an index's files (`vectors.lock` beside `vectors.faiss`):
    exclusive to write the pair, shared to read it. Without fcntl, or in a folder this process
    may not write, it runs unlocked."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    try:
        handle = open(path.with_suffix(".lock"), "a+b")  # noqa: SIM115 - closed below
    except OSError:  # a read-only archive: nobody can be writing it from here
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if not exclusive:
            # No writer holds the lock now, so temporary files left beside are from a killed
            # process: remove them.
            for leftover in leftovers(path):
                leftover.unlink(missing_ok=True)
        yield
    finally:
        handle.close()
