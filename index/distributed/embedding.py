"""Embedding on a Ray cluster: a pool of actors, each loading the model once.

    with session("HEAD:6379"):
        encoder = RayEncoder(EmbedderSpec("onnx", cache_dir="/data/news/models"))
        handle = encoder.submit(texts)       # returns at once; the cluster starts on it
        vectors = encoder.result(handle)     # float32, one row per text, in order
        encoder.close()

Why actors and not a Ray Data dataset: ingest produces passages as it reads, and the writer
needs each batch's vectors back in order while later batches are still being read. A Ray
Data execution takes a finished dataset and runs its actor pool for that execution only, so
fed batch by batch it would reload the model for every window. Here the actors live for the
whole job: `submit` cuts the texts into blocks and sends each to the actor with the least work
queued, and `result` collects the blocks in order.

Failures are Ray's to handle: the actors are created with `max_restarts=-1` and
`max_task_retries=-1`, so an actor whose node dies is restarted on another node (as soon as
the cluster has room for it) and the blocks it had not returned are run again there. A block
comes back once per `result`, so nothing is lost or counted twice. An actor whose model
differs from the archive's (`EmbedderSpec.fingerprint`) fails at start and the job stops with
that error, instead of mixing vectors of two models.

Actors are placed by Ray with the SPREAD strategy (one per node first). With GPUs in the
cluster each actor takes `num_gpus` and runs the torch backend on CUDA: written for this, but
**untested** (no GPU was available to this work).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..embedders import Embedder, ModelError, family_of, make_embedder
from . import require_ray

BLOCK_TEXTS = 64  # texts per actor call: ~2 s of one CPU core at fp32 MiniLM
AHEAD_PER_ACTOR = 4  # ingest batches prepared ahead of the writer, per actor

# (passages embedded on the cluster so far, seconds since the first submit)
ClusterProgress = Callable[[int, float], None]


@dataclass(frozen=True)
class EmbedderSpec:
    """How an actor builds its embedder: picklable, so it travels instead of the model.

    `backend`, `model_path`, `cache_dir` (where onnx exports are kept on each node) and
    `batch_size` are `make_embedder`'s arguments; `fingerprint`, when given, is the model the
    archive holds vectors of, and an actor with another model refuses to start.
    """

    backend: str
    model_path: str | None = None
    cache_dir: str | None = None
    batch_size: int | None = None
    fingerprint: str | None = None

    def build(self, *, threads: int = 1, gpu: bool = False) -> Embedder:
        """The embedder, on `threads` CPU threads, or on the actor's GPU (fp32 torch)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if gpu:  # UNTESTED: no GPU was available to this work
            if family_of(self.backend) != "fp32":
                raise ModelError(f"backend {self.backend!r} has no GPU build; use an fp32 one")
            from ..embedders.sbert import TorchEmbedder

            embedder: Embedder = TorchEmbedder(
                self.model_path, batch_size=self.batch_size or 128, device="cuda"
            )
        else:
            embedder = make_embedder(
                self.backend,
                self.model_path,
                cache_dir=self.cache_dir,
                batch_size=self.batch_size,
                threads=max(1, threads),
            )
        if self.fingerprint and embedder.fingerprint != self.fingerprint:
            raise ModelError(
                f"the model on this node ({embedder.name}, {embedder.fingerprint}) is not the "
                f"archive's ({self.fingerprint}); install the same model on every node"
            )
        return embedder


def _last(exc: BaseException) -> str:
    """The original error's line out of the traceback Ray wraps an actor's failure in."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error: " in line:
            return line.split("Error: ", 1)[1]
    return lines[-1] if lines else type(exc).__name__


class EmbedActor:
    """One Ray actor: builds the embedder once, then embeds whole blocks."""

    def __init__(self, spec: EmbedderSpec, threads: int = 1) -> None:
        import ray

        self.embedder = spec.build(threads=threads, gpu=bool(ray.get_gpu_ids()))
        self.embedder.load()
        node = ray.get_runtime_context().get_node_id()
        self.where = f"{node[:8]}:{os.getpid()}"

    def embed(self, texts: list[str]) -> tuple[np.ndarray, str]:
        """Vectors of `texts`, and where they were made (node:pid)."""
        return self.embedder.encode(list(texts)), self.where


@dataclass
class Handle:
    """A submitted batch: its blocks' object references, in order."""

    blocks: list[Any] = field(default_factory=list)
    count: int = 0


class RayEncoder:
    """Embed on a Ray cluster the driver is connected to (see `cluster.session`).

    `actors`: pool size (default: the cluster's GPUs when `num_gpus`, else its CPUs divided
    by `cpus_per_actor`). `num_gpus`: per actor; None takes 1 when the cluster has GPUs.
    `ahead`: how many ingest batches may be read and submitted ahead of the writer.
    `progress(embedded, seconds)` is called as blocks come back.
    """

    def __init__(
        self,
        spec: EmbedderSpec,
        *,
        actors: int | None = None,
        cpus_per_actor: float = 1,
        num_gpus: float | None = None,
        block: int = BLOCK_TEXTS,
        ahead: int | None = None,
        progress: ClusterProgress | None = None,
    ) -> None:
        self.spec = spec
        self.cpus_per_actor = cpus_per_actor
        self.block = max(1, block)
        self.progress = progress
        self._actors_wanted = actors
        self._num_gpus = num_gpus
        self._ahead = ahead
        self._pool: list[Any] = []
        self._queued: list[list[Any]] = []  # per actor: blocks not yet seen done
        self._lock = threading.Lock()
        self._started: float | None = None
        self.embedded = 0
        self.workers: dict[str, int] = {}  # "node:pid" -> texts embedded there

    # -- sizing -------------------------------------------------------------------------
    @property
    def num_gpus(self) -> float:
        if self._num_gpus is not None:
            return self._num_gpus
        return 1.0 if require_ray().cluster_resources().get("GPU", 0) >= 1 else 0.0

    @property
    def size(self) -> int:
        """The number of actors (asked of the cluster when not given)."""
        if self._actors_wanted:
            return self._actors_wanted
        resources = require_ray().cluster_resources()
        if self.num_gpus:
            return max(1, int(resources.get("GPU", 0) // self.num_gpus))
        return max(1, int(resources.get("CPU", 1) // max(self.cpus_per_actor, 1e-9)))

    @property
    def ahead(self) -> int:
        """Ingest batches to read and submit ahead of the writer: enough to keep every actor
        busy while the writer commits."""
        return self._ahead or max(2, AHEAD_PER_ACTOR * self.size)

    @property
    def rate(self) -> float:
        """Passages per second across the cluster since the first submit."""
        if self._started is None or not self.embedded:
            return 0.0
        return self.embedded / max(1e-9, time.perf_counter() - self._started)

    # -- the pool -----------------------------------------------------------------------
    def _start(self) -> None:
        ray = require_ray()
        gpus = self.num_gpus
        remote = ray.remote(EmbedActor).options(
            num_cpus=0 if gpus else self.cpus_per_actor,
            num_gpus=gpus,
            max_restarts=-1,  # a dead node's actor is started again elsewhere...
            max_task_retries=-1,  # ...and its unanswered blocks run again there
            scheduling_strategy="SPREAD",
        )
        threads = max(1, int(self.cpus_per_actor))
        self._pool = [remote.remote(self.spec, threads) for _ in range(self.size)]
        self._queued = [[] for _ in self._pool]
        self._started = time.perf_counter()

    def _least_busy(self) -> int:
        """The actor with the fewest blocks still running or queued (Ray says which are done)."""
        ray = require_ray()
        for number, refs in enumerate(self._queued):
            if refs:
                _, pending = ray.wait(refs, num_returns=len(refs), timeout=0, fetch_local=False)
                self._queued[number] = pending
        return min(range(len(self._pool)), key=lambda n: len(self._queued[n]))

    def submit(self, texts: list[str]) -> Handle:
        """Start embedding `texts`; returns at once."""
        handle = Handle(count=len(texts))
        if not texts:
            return handle
        with self._lock:
            if not self._pool:
                self._start()
            for start in range(0, len(texts), self.block):
                number = self._least_busy()
                ref = self._pool[number].embed.remote(texts[start : start + self.block])
                self._queued[number].append(ref)
                handle.blocks.append(ref)
        return handle

    def result(self, handle: Handle) -> np.ndarray:
        """The vectors of a submitted batch, in order (waits for them)."""
        ray = require_ray()
        parts = []
        for ref in handle.blocks:
            try:
                vectors, where = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                if getattr(exc, "actor_init_failed", False):  # its model could not be loaded
                    raise ModelError(f"an embedding actor could not start: {_last(exc)}") from None
                raise
            parts.append(vectors)
            with self._lock:
                self.workers[where] = self.workers.get(where, 0) + len(vectors)
                self.embedded += len(vectors)
                done, seconds = self.embedded, time.perf_counter() - (self._started or 0.0)
            if self.progress:
                self.progress(done, seconds)
        if not parts:
            return np.zeros((0, 0), np.float32)
        out = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
        if len(out) != handle.count:  # never expected: Ray returns each block exactly once
            raise RuntimeError(f"the cluster returned {len(out)} vectors for {handle.count}")
        return out

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors of `texts` (submit, then wait)."""
        return self.result(self.submit(texts))

    def close(self) -> None:
        """Stop the actors (their models are freed with them)."""
        ray = require_ray()
        with self._lock:
            for actor in self._pool:
                ray.kill(actor, no_restart=True)
            self._pool, self._queued = [], []

    def __enter__(self) -> RayEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
