"""The FAISS index, keyed by passage id.

The SQLite store is the source of truth and keeps every vector; this index is a fast, rebuildable
view of it. Its file carries the store generation it reflects, so a process killed between the
two writes is detected on the next open and repaired by diffing ids (no re-embedding).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import faiss
import numpy as np

# FAISS's OpenMP threads fight the model (and each other) for the two cores; one query went
# from 19 ms to 8 ms with a single thread.
faiss.omp_set_num_threads(1)


class VectorIndex:
    """Inner-product search over L2-normalised vectors (= cosine), with deletions by id."""

    def __init__(self, dimension: int, index: faiss.Index | None = None) -> None:
        self.dimension = dimension
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        return "flat"

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dimension)
        self.index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
        return int(self.index.remove_ids(selector))

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (id, cosine). `allowed` restricts the search itself, before ranking."""
        if len(self) == 0 or k <= 0:
            return []
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dimension)
        params = None
        if allowed is not None:
            if len(allowed) == 0:
                return []
            params = faiss.SearchParameters(
                sel=faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            )
        k = min(k, len(self))
        scores, ids = self.index.search(query, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def save(self, path: Path, generation: int) -> None:
        """Write atomically (temp file + rename) and record the store generation beside it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, path)
        stamp = {"generation": generation, "count": len(self), "kind": self.kind}
        stamp_tmp = path.with_suffix(".json.tmp")
        stamp_tmp.write_text(json.dumps(stamp))
        os.replace(stamp_tmp, stamp_path(path))

    @classmethod
    def load(cls, path: Path, dimension: int) -> tuple[VectorIndex, int | None]:
        """The index and the generation it was saved at (None when unknown or unreadable)."""
        try:
            index = faiss.read_index(str(path))
            stamp = json.loads(stamp_path(path).read_text())
            if index.d != dimension:
                return cls(dimension), None
            return cls(dimension, index), int(stamp["generation"])
        except (RuntimeError, OSError, ValueError, KeyError):
            return cls(dimension), None


def stamp_path(path: Path) -> Path:
    return path.with_suffix(".json")
