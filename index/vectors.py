"""The FAISS index, keyed by passage id.

The SQLite store is the source of truth and keeps every vector; this index is a fast, rebuildable
view of it. Its file carries the store generation it reflects, so a process killed between the
two writes is detected on the next open and repaired by diffing ids (no re-embedding).

Three kinds, all searched by inner product over L2-normalised vectors (= cosine):

- `flat`: exact; the default while the archive is small (below `AUTO_THRESHOLD` passages).
- `ivf`: IVF-Flat with a hash-table direct map, so passage ids stay the FAISS ids and removals
  are real. Chosen by `auto` above the threshold: deletions and filters behave predictably.
- `hnsw`: HNSW-Flat behind an id map. HNSW cannot delete, so removed ids become tombstones that
  every search excludes with an IDSelector, and the graph is rebuilt when they pass 10%.

Filters are an IDSelector applied inside the search, before ranking. An approximate index only
visits part of the collection, so a narrow filter would find too few passages there: filters
allowing few passages are answered exactly over those passages' vectors, and wider ones widen
the probe in proportion to how much they exclude.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import faiss
import numpy as np

# FAISS's OpenMP threads fight the model (and each other) for the two cores; one query went
# from 19 ms to 8 ms with a single thread. OpenMP's thread count belongs to the calling thread,
# so searches set it again (server worker threads did not import this module).
faiss.omp_set_num_threads(1)

KINDS = ("flat", "ivf", "hnsw")
AUTO_THRESHOLD = 100_000  # passages; exact search there costs about what encoding the query does
IVF_NPROBE_FRACTION = 1 / 16  # lists visited per query, as a share of nlist (min 32)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 256
EXACT_FILTER_LIMIT = 20_000  # filters allowing at most this many passages are searched exactly
TOMBSTONE_REBUILD = 0.10


def auto_kind(count: int, threshold: int = AUTO_THRESHOLD) -> str:
    """The index kind `auto` picks for this many passages."""
    return "flat" if count < threshold else "ivf"


def ivf_lists(count: int) -> int:
    """About sqrt(n) lists: short enough lists to scan, few enough centroids to train quickly."""
    return int(max(16, min(65536, 2 ** round(math.log2(max(1.0, math.sqrt(count)))))))


class VectorIndex:
    """Inner-product search over L2-normalised vectors (= cosine), with deletions by id."""

    def __init__(
        self,
        dimension: int,
        index: faiss.Index | None = None,
        *,
        kind: str = "flat",
        deleted: np.ndarray | None = None,
        nprobe: int | None = None,
    ) -> None:
        self.dimension = dimension
        self._kind = kind
        self.index = index if index is not None else _empty(kind, dimension)
        self.deleted = set(int(i) for i in (deleted if deleted is not None else ()))
        if kind == "ivf":
            ivf = faiss.extract_index_ivf(self.index)
            self.nprobe = nprobe or min(ivf.nlist, max(32, int(ivf.nlist * IVF_NPROBE_FRACTION)))
        else:
            self.nprobe = nprobe or 0

    @classmethod
    def build(cls, dimension: int, kind: str, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
        """A new index of `kind` over these vectors (IVF is trained on them first)."""
        if kind not in KINDS:
            raise ValueError(f"index kind {kind!r} is not one of {', '.join(KINDS)}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dimension)
        if kind == "ivf":
            index = _trained_ivf(dimension, vectors)
            built = cls(dimension, index, kind="ivf")
        else:
            built = cls(dimension, kind=kind)
        built.add(ids, vectors)
        return built

    def __len__(self) -> int:
        return int(self.index.ntotal) - len(self.deleted)

    @property
    def kind(self) -> str:
        return self._kind

    def ids(self) -> np.ndarray:
        if self._kind == "ivf":
            ids = _ivf_ids(faiss.extract_index_ivf(self.index))
        else:
            ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        if self.deleted:
            ids = ids[~np.isin(ids, np.fromiter(self.deleted, np.int64))]
        return np.sort(ids)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything indexed, to rebuild as another kind without SQLite."""
        if self._kind == "flat":
            # The flat codes are the float vectors themselves, in id_map order.
            flat = faiss.downcast_index(self.index.index)
            data = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * self.dimension)
            vectors = np.asarray(data).reshape(flat.ntotal, self.dimension).copy()
            return faiss.vector_to_array(self.index.id_map).astype(np.int64), vectors
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

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if self._kind == "hnsw":
            present = np.isin(ids, faiss.vector_to_array(self.index.id_map))
            fresh = {int(i) for i in ids[present]} - self.deleted
            self.deleted |= fresh
            if len(self.deleted) > TOMBSTONE_REBUILD * max(1, self.index.ntotal):
                self._rebuild_without_tombstones()
            return len(fresh)
        if self._kind == "ivf":  # the hash-table direct map only removes by an id array
            return int(self.index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids))))
        return int(self.index.remove_ids(faiss.IDSelectorBatch(ids)))

    def _rebuild_without_tombstones(self) -> None:
        ids, vectors = self.vectors()
        self.index = _empty("hnsw", self.dimension)
        self.deleted = set()
        self.add(ids, vectors)

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
            if self._kind != "flat" and len(allowed) <= EXACT_FILTER_LIMIT:
                return self._search_exact(query, k, allowed)
        k = min(k, len(self))
        selector = self._selector(allowed)
        params = None
        if self._kind == "ivf":
            nprobe = self.nprobe
            if allowed is not None:  # visit more lists when the filter excludes most passages
                nprobe = math.ceil(nprobe * len(self) / max(1, len(allowed)))
            ivf = faiss.extract_index_ivf(self.index)
            params = faiss.SearchParametersIVF(sel=selector, nprobe=min(ivf.nlist, nprobe))
        elif self._kind == "hnsw":
            ef = max(HNSW_EF_SEARCH, k)
            if allowed is not None:
                ef = min(len(self), math.ceil(ef * len(self) / max(1, len(allowed))))
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=ef)
        elif selector is not None:
            params = faiss.SearchParameters(sel=selector)
        scores, ids = self.index.search(query, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def _selector(self, allowed: np.ndarray | None):
        """Allowed ids minus tombstones, as one selector."""
        keep = []  # the C++ selectors hold raw pointers to their parts: keep these alive
        selector = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
            keep.append(selector)
        if self.deleted:
            dead = faiss.IDSelectorBatch(np.fromiter(self.deleted, np.int64))
            alive = faiss.IDSelectorNot(dead)
            keep += [dead, alive]
            selector = alive if selector is None else faiss.IDSelectorAnd(selector, alive)
        self._selector_parts = keep
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

    def save(self, path: Path, generation: int) -> None:
        """Write atomically (temp file + rename) and record the store generation beside it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, path)
        stamp = {
            "generation": generation,
            "count": len(self),
            "kind": self.kind,
            "nprobe": self.nprobe,
            "deleted": sorted(self.deleted),
        }
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
            kind = stamp.get("kind", "flat")
            if kind not in KINDS:
                return cls(dimension), None
            if kind == "ivf":
                faiss.extract_index_ivf(index).set_direct_map_type(faiss.DirectMap.Hashtable)
            loaded = cls(
                dimension,
                index,
                kind=kind,
                deleted=np.array(stamp.get("deleted", []), dtype=np.int64),
                nprobe=stamp.get("nprobe") or None,
            )
            return loaded, int(stamp["generation"])
        except (RuntimeError, OSError, ValueError, KeyError):
            return cls(dimension), None


def _empty(kind: str, dimension: int) -> faiss.Index:
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    if kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        return faiss.IndexIDMap2(hnsw)
    raise ValueError(f"an empty {kind!r} index needs training vectors; use VectorIndex.build")


def _trained_ivf(dimension: int, vectors: np.ndarray) -> faiss.Index:
    """IVF-Flat trained on a sample of the vectors; ~sqrt(n) lists, 40 samples per list."""
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
    index.set_direct_map_type(faiss.DirectMap.Hashtable)
    return index


def _ivf_ids(ivf: faiss.IndexIVF) -> np.ndarray:
    invlists = ivf.invlists
    parts = []
    for list_no in range(ivf.nlist):
        size = invlists.list_size(list_no)
        if size:
            ptr = invlists.get_ids(list_no)
            parts.append(np.asarray(faiss.rev_swig_ptr(ptr, size)).astype(np.int64).copy())
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def stamp_path(path: Path) -> Path:
    return path.with_suffix(".json")
