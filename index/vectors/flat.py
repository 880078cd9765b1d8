"""`flat`: exact inner-product search; the default while an archive is small."""

from __future__ import annotations

import faiss
import numpy as np

from .base import VectorIndex


class FlatIndex(VectorIndex):
    kind = "flat"

    @classmethod
    def empty(cls, dimension: int) -> faiss.Index:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        # The flat codes are the float vectors themselves, in id_map order.
        flat = faiss.downcast_index(self.index.index)
        data = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * self.dimension)
        vectors = np.asarray(data).reshape(flat.ntotal, self.dimension).copy()
        return faiss.vector_to_array(self.index.id_map).astype(np.int64), vectors
