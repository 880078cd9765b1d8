"""`hnsw`: HNSW-Flat behind an id map, for read-mostly archives that can afford a slow build.
HNSW cannot delete, so removed ids are hidden from every search by an IDSelector, and the graph
is rebuilt when they pass 10%."""

from __future__ import annotations

import math
from typing import Any

import faiss
import numpy as np

from .base import VectorIndex

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 256
TOMBSTONE_REBUILD = 0.10


class HnswIndex(VectorIndex):
    kind = "hnsw"

    def __init__(self, dimension: int, index: faiss.Index | None = None, **stamp: Any) -> None:
        super().__init__(dimension, index)
        self.deleted = {int(i) for i in stamp.get("deleted") or ()}

    @classmethod
    def empty(cls, dimension: int) -> faiss.Index:
        hnsw = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        return faiss.IndexIDMap2(hnsw)

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        present = np.isin(ids, faiss.vector_to_array(self.index.id_map))
        fresh = {int(i) for i in ids[present]} - self.deleted
        self.deleted |= fresh
        if len(self.deleted) > TOMBSTONE_REBUILD * max(1, self.index.ntotal):
            ids, vectors = self.vectors()
            self.index = self.empty(self.dimension)
            self.deleted = set()
            self.add(ids, vectors)
        return len(fresh)

    def search_parameters(self, k: int, selector: Any, allowed: np.ndarray | None):
        ef = max(HNSW_EF_SEARCH, k)
        if allowed is not None:
            ef = min(len(self), math.ceil(ef * len(self) / max(1, len(allowed))))
        return faiss.SearchParametersHNSW(sel=selector, efSearch=ef)

    def stamp(self) -> dict[str, Any]:
        return {"deleted": sorted(self.deleted)}
