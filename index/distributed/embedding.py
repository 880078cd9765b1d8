"""Embedding on a Ray cluster: a Ray Data pipeline over an actor pool of embedders.

    with session("HEAD:6379"):
        encoder = RayEncoder(EmbedderSpec("onnx", cache_dir="/data/news/models"))
        handle = encoder.submit(texts)       # returns at once; queued for the next window
        vectors = encoder.result(handle)     # float32, one row per text, in order
        encoder.close()

Ingest produces passages as it reads, and the one writer needs each batch's vectors back in
order while later batches are still being read. So the passages submitted are gathered into
*windows* of up to `window` texts (default 16,384), and each window is one streaming Ray Data
execution: `from_items` -> `map_batches(EmbedBatches, concurrency=N, batch_size=block,
num_gpus=...)` over an actor pool whose actors load the model once per window ->
`iter_batches` with `preserve_order`, so the rows come back in submission order and the
writer commits the first batches of a window while its later ones are still being embedded.
A window starts when it is full, when submissions pause for `settle` seconds (the reader is
`ahead` batches in front of the writer, or the input ended), or when the writer has waited
`patience` seconds for rows still queued. Windows run one after another.

The price of Ray Data here is one model load per actor per window (a window's actor pool
lives for that execution only): `windows` records, per execution, its texts, its wall time
and its actors' load times, so the share can be read off (bench/README.md measures it). With
windows of tens of thousands of passages it is a few percent; the reader must then run that
far ahead of the writer, which is what `ahead` is sized for.

Failures are Ray's to handle: Ray Data creates the actor pool with `max_restarts=-1` and
`max_task_retries=-1` (its defaults; passing them as ray_remote_args is deprecated), so an actor whose node dies is restarted on another
node (as soon as the cluster has room for it) and the batches it had not returned run again
there; Ray Data hands each row back once, in order, so nothing is lost or counted twice. An
actor whose model differs from the archive's (`EmbedderSpec.fingerprint`) fails at start and
the job stops with that error, instead of mixing vectors of two models.

With GPUs in the cluster each actor takes `num_gpus` and runs the torch backend on CUDA:
written for this, but **untested** (no GPU was available to this work).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..embedders import Embedder, ModelError, family_of, make_embedder
from . import require_ray

BLOCK_TEXTS = 64  # texts per map_batches call: ~2 s of one CPU core at fp32 MiniLM
WINDOW_TEXTS = 16_384  # texts per Ray Data execution: ~8 min of one 2-core machine
TEXTS_PER_BATCH = 128  # an ingest batch's new passages, roughly (64 articles): sizes `ahead`
SETTLE_S = 0.5  # submissions quiet this long: the reader is as far ahead as it may go
PATIENCE_S = 5.0  # the writer waits no longer than this for a window to fill

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


class EmbedBatches:
    """Ray Data's callable class: each actor of the pool builds the embedder once (per window),
    then embeds whole batches of the `text` column."""

    def __init__(self, spec: EmbedderSpec, threads: int = 1) -> None:
        import ray

        begun = time.perf_counter()
        self.embedder = spec.build(threads=threads, gpu=bool(ray.get_gpu_ids()))
        self.embedder.load()
        self.load_s = time.perf_counter() - begun
        node = ray.get_runtime_context().get_node_id()
        self.where = f"{node[:8]}:{os.getpid()}"

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        vectors = np.ascontiguousarray(self.embedder.encode(texts), dtype=np.float32)
        return {
            "vector": vectors,
            "where": np.full(len(texts), self.where),
            "load_s": np.full(len(texts), self.load_s, dtype=np.float32),
            "cpu_s": np.full(len(texts), time.process_time(), dtype=np.float64),
        }


@dataclass(frozen=True)
class Handle:
    """A submitted batch: its rows' place in the stream of submitted texts."""

    start: int = 0
    count: int = 0


@dataclass
class Window:
    """One Ray Data execution, for the record: texts, wall seconds, seconds until its first
    rows came back, and the slowest actor's model load (seconds)."""

    texts: int
    actors: int
    seconds: float = 0.0
    first_rows_s: float = 0.0
    load_s: float = 0.0


class RayEncoder:
    """Embed on a Ray cluster the driver is connected to (see `cluster.session`), through Ray
    Data: windows of submitted texts, each one streaming execution (module docstring).

    `actors`: pool size (default: the cluster's GPUs when `num_gpus`, else its CPUs divided
    by `cpus_per_actor`). `num_gpus`: per actor; None takes 1 when the cluster has GPUs.
    `block`: texts per `map_batches` call. `window`: texts per execution. `ahead`: ingest
    batches read and submitted ahead of the writer (default: a window's worth and more).
    `progress(embedded, seconds)` is called as rows come back.
    """

    def __init__(
        self,
        spec: EmbedderSpec,
        *,
        actors: int | None = None,
        cpus_per_actor: float = 1,
        num_gpus: float | None = None,
        block: int = BLOCK_TEXTS,
        window: int = WINDOW_TEXTS,
        ahead: int | None = None,
        settle: float = SETTLE_S,
        patience: float = PATIENCE_S,
        progress: ClusterProgress | None = None,
    ) -> None:
        self.spec = spec
        self.cpus_per_actor = cpus_per_actor
        self.block = max(1, block)
        self.window = max(self.block, window)
        self.settle = settle
        self.patience = patience
        self.progress = progress
        self._actors_wanted = actors
        self._num_gpus = num_gpus
        self._ahead = ahead
        self._cv = threading.Condition()
        self._pending: list[str] = []  # submitted, not yet in a window
        self._pending_from = 0  # stream position of _pending[0]
        self._next = 0  # stream position of the next submitted text
        self._last_submit = 0.0
        self._wanted_since: float | None = None  # the writer waits for rows still queued
        self._wanted = 0  # ...up to this stream position
        self._ready = 0  # rows back, in order, up to this stream position
        self._chunks: list[tuple[int, np.ndarray]] = []  # (stream position, vectors)
        self._open: dict[int, int] = {}  # handles not collected yet: start -> count
        self._error: BaseException | None = None
        self._closed = False
        self._runner: threading.Thread | None = None
        self._started: float | None = None
        self.embedded = 0
        self.workers: dict[str, int] = {}  # "node:pid" -> texts embedded there
        self.worker_cpu: dict[str, float] = {}  # "node:pid" -> its CPU seconds, last seen
        self.windows: list[Window] = []

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
        """Ingest batches to read and submit ahead of the writer: a window's worth, so one
        execution (one model load per actor) covers that many passages."""
        return self._ahead or max(4, math.ceil(self.window / TEXTS_PER_BATCH))

    @property
    def actor_cpu_s(self) -> float:
        """CPU seconds the embedding actors used (each process's own count, model loads
        included): they exit with their window, so nothing outside them can read it after."""
        return float(sum(self.worker_cpu.values()))

    @property
    def rate(self) -> float:
        """Passages per second across the cluster since the first submit."""
        if self._started is None or not self.embedded:
            return 0.0
        return self.embedded / max(1e-9, time.perf_counter() - self._started)

    # -- the stream ---------------------------------------------------------------------
    def submit(self, texts: list[str]) -> Handle:
        """Queue `texts` for the next window; returns at once."""
        with self._cv:
            self._raise_if_failed()
            handle = Handle(self._next, len(texts))
            if not texts:
                return handle
            if self._closed:
                raise RuntimeError("the encoder is closed")
            if self._runner is None:
                self._started = time.perf_counter()
                self._runner = threading.Thread(
                    target=self._run, name="ray-data-windows", daemon=True
                )
                self._runner.start()
            self._pending.extend(texts)
            self._next += len(texts)
            self._open[handle.start] = handle.count
            self._last_submit = time.monotonic()
            self._cv.notify_all()
        return handle

    def result(self, handle: Handle) -> np.ndarray:
        """The vectors of a submitted batch, in order (waits for them)."""
        if not handle.count:
            return np.zeros((0, 0), np.float32)
        end = handle.start + handle.count
        with self._cv:
            while self._ready < end:
                self._raise_if_failed()
                if self._closed:
                    raise RuntimeError("the encoder was closed before these texts were embedded")
                if end > self._pending_from and self._wanted < end:
                    self._wanted = end
                    self._wanted_since = self._wanted_since or time.monotonic()
                    self._cv.notify_all()
                self._cv.wait(0.1)
            parts = []
            for start, vectors in self._chunks:
                lo, hi = max(start, handle.start), min(start + len(vectors), end)
                if lo < hi:
                    parts.append(vectors[lo - start : hi - start])
            self._open.pop(handle.start, None)
            keep_from = min(self._open, default=self._next)
            self._chunks = [(s, v) for s, v in self._chunks if s + len(v) > keep_from]
        out = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
        if len(out) != handle.count:  # never expected: Ray Data returns each row once
            raise RuntimeError(f"the cluster returned {len(out)} vectors for {handle.count}")
        return out

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors of `texts` (submit, then wait)."""
        return self.result(self.submit(texts))

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _next_window(self) -> tuple[list[str], int] | None:
        """Wait until a window should start; its texts and stream position (None: closed)."""
        with self._cv:
            while not self._closed:
                if self._pending:
                    now = time.monotonic()
                    quiet = now - self._last_submit >= self.settle
                    waited = self._wanted_since is not None and (
                        now - self._wanted_since >= self.patience
                    )
                    if len(self._pending) >= self.window or quiet or waited:
                        texts = self._pending[: self.window]
                        start = self._pending_from
                        del self._pending[: len(texts)]
                        self._pending_from += len(texts)
                        if self._wanted <= self._pending_from:
                            self._wanted_since = None
                        else:
                            self._wanted_since = time.monotonic()
                        return texts, start
                self._cv.wait(0.05)
        return None

    def _run(self) -> None:
        """The runner thread: windows one after another, until closed or failed."""
        while True:
            window = self._next_window()
            if window is None:
                return
            try:
                self._execute(*window)
            except BaseException as exc:  # noqa: BLE001 - raised to the writer by result()
                with self._cv:
                    self._error = _model_error(exc) or exc
                    self._cv.notify_all()
                return

    def _execute(self, texts: list[str], start: int) -> None:
        """One streaming Ray Data execution over `texts`; rows are handed over as they come."""
        require_ray()
        import ray.data

        # Ray Data's notes on each execution (progress bars off, finished in N s) are not the
        # user's business on a CLI; its errors still show (set after its import configures it)
        logging.getLogger("ray.data").setLevel(logging.ERROR)

        blocks = math.ceil(len(texts) / self.block)
        actors = max(1, min(self.size, blocks))
        gpus = self.num_gpus
        dataset = ray.data.from_items([{"text": t} for t in texts], override_num_blocks=blocks)
        context = dataset.context
        context.execution_options.preserve_order = True  # rows back in submission order
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        embedded = dataset.map_batches(
            EmbedBatches,
            fn_constructor_args=(self.spec, max(1, int(self.cpus_per_actor))),
            batch_size=self.block,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=0 if gpus else self.cpus_per_actor,
            num_gpus=gpus,
            # Ray Data's actor pools default to max_restarts=-1 and max_task_retries=-1: a dead
            # node's actor is started again elsewhere and its unanswered batches run there
            # (passing them as ray_remote_args is deprecated since Ray 2.60)
        )
        record = Window(texts=len(texts), actors=actors)
        begun = time.perf_counter()
        position = start
        for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
            if self._closed:  # leaving the loop shuts the execution down
                return
            vectors = np.asarray(batch["vector"], dtype=np.float32)
            if not record.first_rows_s:
                record.first_rows_s = time.perf_counter() - begun
            record.load_s = max(record.load_s, float(np.max(batch["load_s"], initial=0.0)))
            with self._cv:
                self._chunks.append((position, vectors))
                position += len(vectors)
                self._ready = position
                for where, cpu in zip(batch["where"], batch["cpu_s"]):
                    self.workers[str(where)] = self.workers.get(str(where), 0) + 1
                    self.worker_cpu[str(where)] = max(self.worker_cpu.get(str(where), 0), cpu)
                self.embedded += len(vectors)
                done, seconds = self.embedded, time.perf_counter() - (self._started or 0.0)
                self._cv.notify_all()
            if self.progress:
                self.progress(done, seconds)
        record.seconds = time.perf_counter() - begun
        self.windows.append(record)
        if position != start + len(texts):  # never expected: Ray Data returns each row once
            raise RuntimeError(f"the cluster returned {position - start} rows for {len(texts)}")

    def close(self) -> None:
        """Stop after the window under way (its actors go with its execution)."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.join()

    def __enter__(self) -> RayEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _model_error(exc: BaseException) -> ModelError | None:
    """A ModelError for an actor that could not load the archive's model, from the
    traceback Ray wraps it in (None for any other failure)."""
    text = str(exc)
    if "ModelError" in text or "is not the archive's" in text:
        return ModelError(f"an embedding actor could not start: {_last(exc)}")
    return None
