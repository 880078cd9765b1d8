"""Sharded vector search for archives whose vectors outgrow one machine: S Ray actors, each an
IVF index (IVF-PQ when memory asks for it) over the passages whose id hashes to it, and a
coordinator that fans a query out and merges the answers exactly.

    trained = train(dimension, sample, ShardSettings(nlist=4096, pq_m=48))
    index = ShardedIndex(dimension, shards=4, settings=settings).start(trained)
    index.load(store.iter_vectors())              # or add(ids, vectors) / remove(ids)
    index.search(query, k, allowed)               # [(passage id, score)], like VectorIndex

Why the merge is exact: every shard starts from one empty index trained once on a sample of
the whole collection, so a passage falls in the same list, with the same code, as it would in
a single index. A query probes the same `nprobe` lists on every shard; together the shards
scan what the single index scans, so the top-k of the shards' top-ks is the single index's
top-k (ties broken by id). Filters follow `VectorIndex.search`'s rules with the *global*
counts (at most EXACT_FILTER_LIMIT allowed passages: exact over them; more: nprobe widened by
total/allowed), decided once here and sent to every shard with its part of the allowed ids,
so a filter applies before ranking on every shard and the answer does not depend on S.
`single_index` builds the reference (the archive's own `IvfIndex` from the same training);
tests compare the two rankings.

Memory per passage: IVF-Flat 4*d bytes (1,536 for d=384) plus ~32 for its id and direct map;
IVF-PQ `pq_m` bytes plus the same. PQ scores are approximate (recall drops), so PQ is for when
the flat vectors do not fit.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

from ..distributed import require_ray
from ..sync import follows
from .base import EXACT_FILTER_LIMIT
from .ivf import IvfIndex, ivf_lists, ivf_nprobe

if TYPE_CHECKING:
    from ..sync import VectorSource

CHUNK = 20_000  # vectors per call when loading shards (keeps each call's object small)


@dataclass(frozen=True)
class ShardSettings:
    """One index's settings; a single index with these settings ranks like the shards."""

    nlist: int
    nprobe: int | None = None  # default: the IVF index's rule (ivf.py's `ivf_nprobe`)
    pq_m: int = 0  # 0: IVF-Flat; else IVF-PQ with pq_m sub-quantizers of pq_bits
    pq_bits: int = 8

    @property
    def probes(self) -> int:
        if self.nprobe:
            return min(self.nlist, self.nprobe)
        return ivf_nprobe(self.nlist)

    def bytes_per_vector(self, dimension: int) -> int:
        code = self.pq_m * self.pq_bits // 8 if self.pq_m else 4 * dimension
        return code + 8 + 24  # code, id in the inverted list, hash-table direct map entry


def train(dimension: int, sample: np.ndarray, settings: ShardSettings) -> bytes:
    """An empty, trained IVF(-PQ) index, serialised: what every shard starts from."""
    sample = np.ascontiguousarray(sample, dtype=np.float32).reshape(-1, dimension)
    quantizer = faiss.IndexFlatIP(dimension)
    if settings.pq_m:
        index = faiss.IndexIVFPQ(
            quantizer, dimension, settings.nlist, settings.pq_m, settings.pq_bits,
            faiss.METRIC_INNER_PRODUCT,
        )  # fmt: skip
    else:
        index = faiss.IndexIVFFlat(quantizer, dimension, settings.nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = 12
    index.cp.max_points_per_centroid = 40
    index.train(sample)
    index.set_direct_map_type(faiss.DirectMap.Hashtable)
    return faiss.serialize_index(index).tobytes()


def _from_trained(trained: bytes) -> faiss.Index:
    index = faiss.deserialize_index(np.frombuffer(trained, dtype=np.uint8))
    faiss.extract_index_ivf(index).set_direct_map_type(faiss.DirectMap.Hashtable)
    return index


def shard_of(ids: np.ndarray, shards: int) -> np.ndarray:
    """Each id's shard: a multiplicative hash of the id, mod S, so strided ids still spread
    (plain `id % S` put every id of a strided set on one shard)."""
    mixed = np.asarray(ids, dtype=np.int64).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return ((mixed >> np.uint64(32)) % np.uint64(shards)).astype(np.int64)


def merge(parts: Sequence[tuple[np.ndarray, np.ndarray]], k: int) -> list[tuple[int, float]]:
    """The top-k of the shards' top-ks, by score, then id."""
    if not parts:
        return []
    scores = np.concatenate([p[0] for p in parts]).astype(np.float32)
    ids = np.concatenate([p[1] for p in parts]).astype(np.int64)
    order = np.lexsort((ids, -scores))[:k]
    return [(int(ids[i]), float(scores[i])) for i in order]


class VectorShard:
    """One shard (a Ray actor): an index from the shared training over the ids `shard_of`
    gives it."""

    def __init__(self, trained: bytes, number: int, shards: int, threads: int = 1) -> None:
        faiss.omp_set_num_threads(threads)
        self.threads = threads
        self.index = _from_trained(trained)
        self.number = number
        self.shards = shards

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> int:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) and np.any(shard_of(ids, self.shards) != self.number):
            raise ValueError(f"shard {self.number} of {self.shards} got ids of another shard")
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        return int(self.index.ntotal)

    def remove(self, ids: np.ndarray) -> int:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        return int(self.index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids))))

    def count(self) -> int:
        return int(self.index.ntotal)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None, nprobe: int, exact: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """This shard's top-k (scores, ids) for one query, under the coordinator's plan."""
        faiss.omp_set_num_threads(self.threads)
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if (allowed is not None and len(allowed) == 0) or self.index.ntotal == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if exact:  # brute force over the allowed passages' (decoded) vectors, as VectorIndex
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            scores = self.index.reconstruct_batch(allowed) @ query[0]
            top = np.lexsort((allowed, -scores))[:k]
            return scores[top].astype(np.float32), allowed[top]
        params = faiss.SearchParametersIVF(nprobe=nprobe)
        keep = None
        if allowed is not None:
            keep = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            params.sel = keep
        scores, ids = self.index.search(query, min(k, int(self.index.ntotal)), params=params)
        found = ids[0] >= 0
        del keep  # the selector must outlive the search
        return scores[0][found], ids[0][found]


class ShardedIndex:
    """The coordinator: S shard actors from one training, a query fanned out, an exact merge.

    `search(query, k, allowed)` answers like `VectorIndex.search` over one IVF index with the
    same training and settings. The driver must be connected to a Ray cluster
    (`index/distributed/cluster.session`).
    """

    def __init__(
        self,
        dimension: int,
        shards: int,
        settings: ShardSettings,
        *,
        cpus_per_shard: float = 1.0,
        threads: int = 1,
        memory_per_shard: int | None = None,
    ) -> None:
        if shards < 1:
            raise ValueError("a sharded index needs at least one shard")
        self.dimension = dimension
        self.shards = shards
        self.settings = settings
        self.cpus_per_shard = cpus_per_shard
        self.threads = threads
        self.memory_per_shard = memory_per_shard
        self.actors: list[Any] = []
        self.counts = [0] * shards

    def start(self, trained: bytes) -> ShardedIndex:
        """Start the S shard actors from the trained, empty index (placed by Ray, spread)."""
        ray = require_ray()
        options: dict[str, Any] = {"num_cpus": self.cpus_per_shard, "scheduling_strategy": "SPREAD"}
        if self.memory_per_shard:
            options["memory"] = self.memory_per_shard  # Ray places each shard where it fits
        remote = ray.remote(VectorShard).options(**options)
        shared = ray.put(trained)
        self.actors = [
            remote.remote(shared, number, self.shards, self.threads)
            for number in range(self.shards)
        ]
        ray.get([a.count.remote() for a in self.actors])
        return self

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Route each passage to its shard, in chunks, with a bounded number of calls in flight."""
        ray = require_ray()
        ids = np.asarray(ids, dtype=np.int64)
        pending = []
        step = CHUNK * self.shards
        for start in range(0, len(ids), step):
            chunk_ids, chunk_vectors = ids[start : start + step], vectors[start : start + step]
            owner = shard_of(chunk_ids, self.shards)
            for number, actor in enumerate(self.actors):
                mine = owner == number
                if mine.any():
                    part = np.ascontiguousarray(chunk_vectors[mine], dtype=np.float32)
                    pending.append(actor.add.remote(chunk_ids[mine], part))
            if len(pending) >= 2 * self.shards:
                ray.get(pending)
                pending = []
        ray.get(pending)
        self.counts = ray.get([a.count.remote() for a in self.actors])

    def load(self, chunks: Iterable[tuple[np.ndarray, np.ndarray]]) -> ShardedIndex:
        """Add every (ids, vectors) chunk, e.g. an archive store's `iter_vectors()`."""
        for ids, vectors in chunks:
            self.add(ids, vectors)
        return self

    def remove(self, ids: np.ndarray) -> int:
        ray = require_ray()
        ids = np.asarray(ids, dtype=np.int64)
        owner = shard_of(ids, self.shards)
        removed = ray.get([a.remove.remote(ids[owner == n]) for n, a in enumerate(self.actors)])
        self.counts = ray.get([a.count.remote() for a in self.actors])
        return int(sum(removed))

    def __len__(self) -> int:
        return int(sum(self.counts))

    def plan(self, k: int, allowed: np.ndarray | None) -> tuple[int, int, bool]:
        """(k, nprobe, exact) for one query, from the global counts, as VectorIndex decides."""
        total = len(self)
        exact = allowed is not None and len(allowed) <= EXACT_FILTER_LIMIT
        nprobe = self.settings.probes
        if allowed is not None and not exact:
            nprobe = min(self.settings.nlist, math.ceil(nprobe * total / max(1, len(allowed))))
        return (k if exact else min(k, total)), nprobe, exact

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (passage id, score) over every shard; `allowed` restricts each shard's search."""
        ray = require_ray()
        if len(self) == 0 or k <= 0:
            return []
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=np.int64)
            if len(allowed) == 0:
                return []
        k, nprobe, exact = self.plan(k, allowed)
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dimension)
        owner = None if allowed is None else shard_of(allowed, self.shards)
        calls = [
            actor.search.remote(
                query, k, None if owner is None else allowed[owner == n], nprobe, exact
            )
            for n, actor in enumerate(self.actors)
        ]
        return merge(ray.get(calls), k)

    def stop(self) -> None:
        """Stop the shard actors (their memory is freed with them)."""
        ray = require_ray()
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []


def single_index(
    trained: bytes, ids: np.ndarray, vectors: np.ndarray, settings: ShardSettings
) -> IvfIndex:
    """The reference: the archive's own `IvfIndex` over one index from the same training."""
    index = _from_trained(trained)
    wrapped = IvfIndex(index.d, index)
    wrapped.nprobe = settings.probes  # the shards' setting, even below today's default rule
    wrapped.add(ids, vectors)
    return wrapped


class ShardedView:
    """A `ShardedIndex` kept in step with the database, as `index/sync.VectorView` keeps the
    FAISS index: before each search it asks the database for its generation and applies the
    passages removed and added since (a database with another history is loaded again).

    The index is trained on first use from a sample of the stored vectors (`ivf_lists`
    lists unless `nlist`, the same nprobe rule as the archive's IVF index), so it ranks like
    one IVF index with that training; on an archive of up to 32 x 39 passages every list is
    probed and it ranks like the archive's exact index. Shard actors live until `stop()`.
    """

    def __init__(
        self,
        source: VectorSource,
        dimension: int,
        shards: int,
        *,
        pq_m: int = 0,
        nlist: int | None = None,
        cpus_per_shard: float = 1.0,
        sample: int = 100_000,
    ) -> None:
        self.source = source
        self.dimension = dimension
        self.shards = shards
        self.pq_m = pq_m
        self.nlist = nlist
        self.cpus_per_shard = cpus_per_shard
        self.sample = sample
        self.lock = threading.RLock()
        self.index: ShardedIndex | None = None
        self._lineage: tuple[str, int, str] | None = None
        self._max_id = -1

    def _build(self) -> None:
        """Train on the stored vectors (the first `sample`), start the shards, load them all."""
        if self.index is not None:
            self.index.stop()
            self.index = None
        lineage = self.source.lineage()
        picked, held = [], 0
        for ids, vectors in self.source.iter_vectors():
            picked.append(vectors)
            held += len(ids)
            if held >= self.sample:
                break
        if not held:  # nothing to train on yet: built when the first passages arrive
            self._lineage, self._max_id = lineage, -1
            return
        sample = np.vstack(picked)[: self.sample]
        nlist = self.nlist or min(ivf_lists(held), max(1, held // 39))
        settings = ShardSettings(nlist=max(1, nlist), pq_m=self.pq_m)
        trained = train(self.dimension, sample, settings)
        index = ShardedIndex(
            self.dimension, self.shards, settings, cpus_per_shard=self.cpus_per_shard
        )
        index.start(trained)
        top = -1
        for ids, vectors in self.source.iter_vectors():
            index.add(ids, vectors)
            top = max(top, int(ids.max()) if len(ids) else -1)
        self.index, self._lineage, self._max_id = index, lineage, top

    def catch_up(self) -> dict[str, int]:
        """Bring the shards up to the database's generation; returns what changed."""
        with self.lock:
            lineage = self.source.lineage()
            if self._lineage == lineage:
                return {"added": 0, "removed": 0}
            old = self._lineage
            if (
                self.index is None
                or not follows(old, lineage, self.source)
                or old[1] < self.source.tombstones_pruned_through()
            ):
                self._build()
                return {"added": len(self.index or ()), "removed": -1}
            removed, added = self.source.changes_since(old[1], self._max_id)
            if len(removed):
                self.index.remove(removed)
            for start in range(0, len(added), CHUNK):
                chunk = added[start : start + CHUNK]
                self.index.add(chunk, self.source.vectors_for(chunk, self.dimension))
            if len(added):
                self._max_id = max(self._max_id, int(added.max()))
            self._lineage = lineage
            return {"added": int(len(added)), "removed": int(len(removed))}

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (passage id, score) over the caught-up shards, filters applied on each."""
        with self.lock:
            self.catch_up()
            if self.index is None:
                return []
            return self.index.search(query, k, allowed)

    def describe(self) -> dict[str, Any]:
        """Shards, passages per shard, lists and PQ: what `stats` shows."""
        index = self.index
        return {
            "shards": self.shards,
            "passages": list(index.counts) if index else [0] * self.shards,
            "nlist": index.settings.nlist if index else 0,
            "nprobe": index.settings.probes if index else 0,
            "pq_m": self.pq_m,
        }

    def stop(self) -> None:
        with self.lock:
            if self.index is not None:
                self.index.stop()
                self.index = None
            self._lineage = None
