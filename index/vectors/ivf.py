"""`ivf`: IVF-Flat with a hash-table direct map, so passage ids stay the FAISS ids and removals
are real. Chosen by `auto` past the size threshold: deletions and filters behave predictably,
it builds fast (1M vectors in ~20 s) and its recall held on near-copy-heavy collections."""

from __future__ import annotations

import math
from typing import Any

import faiss
import numpy as np

from .base import VectorIndex

# Lists visited per query: a share of nlist, at least IVF_NPROBE_MIN. Set on real vectors
# (bench/recall.py, bench/README.md "Recall on real vectors") so recall@10 against exact stays
# >= 0.95 at every size measured: with 256 lists (46k-100k passages) nprobe 32 gave 0.930-0.949
# and 64 gave 0.973-0.981; with 1,024 lists (1M) 64 gave 0.969 (128: 0.988 at twice the time).
IVF_NPROBE_FRACTION = 1 / 16
IVF_NPROBE_MIN = 64
# From about 524,000 passages (where ~sqrt(n) rounds to 1,024 lists) an index gets four times
# ~sqrt(n) lists and visits a thirty-second of them: at 1M, 4,096 lists with nprobe 128 gave
# recall@10 0.978 in 2.6 ms against 0.969 in 4.4 ms for 1,024 lists with nprobe 64 (a query
# reads 3% of the vectors instead of 6%: FAISS was the slowest stage of a 1M hybrid query).
# Smaller archives keep ~sqrt(n): at 100k, 1,024 lists gave 0.951 against 256 lists' 0.979.
IVF_MANY_LISTS = 1024
IVF_MANY_LISTS_FACTOR = 4
IVF_MANY_LISTS_FRACTION = 1 / 32
IVF_MANY_LISTS_FROM = IVF_MANY_LISTS * IVF_MANY_LISTS_FACTOR  # nlist of such an index


def ivf_nprobe(nlist: int) -> int:
    """The default number of lists a query visits, for an index of `nlist` lists. Indexes of
    4,096 lists or more were built with the many-lists rule (an older one of as many lists,
    built for ~16M passages, recorded a higher nprobe in its stamp, which is kept)."""
    fraction = IVF_MANY_LISTS_FRACTION if nlist >= IVF_MANY_LISTS_FROM else IVF_NPROBE_FRACTION
    return min(nlist, max(IVF_NPROBE_MIN, int(nlist * fraction)))


def ivf_lists(count: int) -> int:
    """About sqrt(n) lists: short enough lists to scan, few enough centroids to train quickly;
    four times as many from IVF_MANY_LISTS on (see above)."""
    lists = int(max(16, min(65536, 2 ** round(math.log2(max(1.0, math.sqrt(count)))))))
    return min(65536, lists * IVF_MANY_LISTS_FACTOR) if lists >= IVF_MANY_LISTS else lists


class IvfIndex(VectorIndex):
    kind = "ivf"

    def __init__(self, dimension: int, index: faiss.Index | None = None, **stamp: Any) -> None:
        if index is None:
            raise ValueError("an IVF index needs training vectors; use IvfIndex.build")
        super().__init__(dimension, index)
        faiss.extract_index_ivf(self.index).set_direct_map_type(faiss.DirectMap.Hashtable)
        nlist = faiss.extract_index_ivf(self.index).nlist
        # a stamp records an earlier default; a lower one than today's gave recall below 0.95
        self.nprobe = max(int(stamp.get("nprobe") or 0), ivf_nprobe(nlist))

    @classmethod
    def build(cls, dimension: int, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dimension)
        built = cls(dimension, _trained(dimension, vectors))
        built.add(ids, vectors)
        return built

    def ids(self) -> np.ndarray:
        ivf = faiss.extract_index_ivf(self.index)
        parts = []
        for list_no in range(ivf.nlist):
            size = ivf.invlists.list_size(list_no)
            if size:
                ptr = ivf.invlists.get_ids(list_no)
                parts.append(np.asarray(faiss.rev_swig_ptr(ptr, size)).astype(np.int64).copy())
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        # the hash-table direct map only removes by an id array
        return int(self.index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids))))

    def search_parameters(self, k: int, selector: Any, allowed: np.ndarray | None):
        nprobe = self.nprobe
        if allowed is not None:  # visit more lists when the filter excludes most passages
            nprobe = math.ceil(nprobe * len(self) / max(1, len(allowed)))
        nlist = faiss.extract_index_ivf(self.index).nlist
        return faiss.SearchParametersIVF(sel=selector, nprobe=min(nlist, nprobe))

    def stamp(self) -> dict[str, Any]:
        return {"nprobe": self.nprobe}


def _trained(dimension: int, vectors: np.ndarray) -> faiss.Index:
    """IVF-Flat trained on a sample of the vectors; `ivf_lists` lists, 40 samples per list."""
    nlist = ivf_lists(len(vectors))
    nlist = max(1, min(nlist, len(vectors) // 8 or 1))
    quantizer = faiss.IndexFlatIP(dimension)
    index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = 12
    index.cp.max_points_per_centroid = 40
    rng = np.random.default_rng(0)
    sample = vectors
    if len(vectors) > 40 * nlist:
        sample = vectors[np.sort(rng.choice(len(vectors), 40 * nlist, replace=False))]
    index.train(sample)
    return index
