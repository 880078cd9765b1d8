"""The HTTP API replicated with Ray Serve: N read replicas over one archive folder, one writer.

    with ray_session("local"):
        deploy("/data/news", replicas=2, port=8000)                       # fixed size
        deploy("/data/news", autoscaling={"min_replicas": 1, "max_replicas": 4,
                                          "target_ongoing_requests": 2})  # on request load

Each `ArchiveReplica` builds `create_app(Archive(path))` on the replica itself (`serve.ingress`
in deferred mode: the app, the model, the SQLite connection and the FAISS view are made there,
never pickled), and the app's start-up loads the model and the index once. Serve spreads the
requests; before each search a replica catches its FAISS view up with the database generation,
as `newsarchive serve` does, so a write is seen by every replica at its next request.

Writes (every POST, PUT, PATCH and DELETE except the read-only POSTs /search and /similar) are
forwarded to the one `ArchiveWriter`, which runs the same app in its own process: SQLite keeps
a single writer and the FAISS file a single saver (read replicas never save it). Every answer
carries `x-newsarchive-replica: NODE:PID`, which replica (or, for a write, which reader) sent
it.

With `shards` (`serve --ray --shards S [--pq M]`), the replicas' vector search goes to one
`ArchiveShards` deployment holding S shard actors (`Archive.shard_vectors`: IVF, IVF-PQ with
`pq_m`), caught up with the database before each search, so a replica holds no FAISS index
of its own; filters apply before ranking on every shard.

SQLite's WAL needs every process that opens the database on one machine (shared memory), so
the replicas and the writer must run on the machine that holds the archive folder, never over
a network file system; more machines need copies of the archive each.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from ..archive import Archive, require_ray
from .app import SAVE_EVERY_SECONDS, create_app

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
READ_ONLY_POSTS = {"/search", "/similar"}
REPLICA_HEADER = b"x-newsarchive-replica"


def _tag() -> str:
    """This process as NODE:PID (the node's id cut to 8 characters)."""
    try:
        import ray

        node = ray.get_runtime_context().get_node_id()[:8]
    except Exception:  # noqa: BLE001 - outside a Ray worker
        node = "local"
    return f"{node}:{os.getpid()}"


def is_write(method: str, path: str) -> bool:
    """Whether a request changes the archive (and so goes to the one writer)."""
    return method in WRITE_METHODS and path.rstrip("/") not in READ_ONLY_POSTS


class ReplicaApp:
    """The app, plus: writes forwarded to the writer, and this replica's tag on every answer."""

    def __init__(self, app: Any, writer: Any = None) -> None:
        self.app = app
        self.writer = writer
        self.tag = _tag().encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan: model and index load here
            return

        async def tagged(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (REPLICA_HEADER, self.tag)]}  # fmt: skip
            await send(message)

        if self.writer is None or not is_write(scope["method"], scope["path"]):
            await self.app(scope, receive, tagged)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        query = scope.get("query_string", b"").decode("latin-1")
        status, out_headers, content = await self.writer.handle.remote(
            scope["method"], scope["path"], query, headers, body
        )
        kept = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in out_headers
            if k.lower() not in ("content-length", "transfer-encoding")
        ]
        length = (b"content-length", str(len(content)).encode())
        await tagged({"type": "http.response.start", "status": status, "headers": [*kept, length]})
        await send({"type": "http.response.body", "body": content})


class ArchiveWriter:
    """The one writer: the same app, in this process, for the writes the replicas forward."""

    def __init__(self, path: str, backend: str | None = None, model: str | None = None) -> None:
        import httpx

        self.archive = Archive(Path(path), model=model, backend=backend)
        self.app = create_app(self.archive, warm=False)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://writer"
        )
        self._stop = threading.Event()
        threading.Thread(target=self._saver, name="faiss-saver", daemon=True).start()

    def _saver(self) -> None:  # the app's own saver runs in its lifespan, which is not run here
        while not self._stop.wait(SAVE_EVERY_SECONDS):
            self.archive.save_index()

    async def handle(
        self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        url = path + (f"?{query}" if query else "")
        response = await self.client.request(method, url, headers=headers, content=body)
        return response.status_code, list(response.headers.items()), response.content

    def __del__(self) -> None:
        self._stop.set()
        try:
            self.archive.save_index()
        except Exception:  # noqa: BLE001 - shutting down
            pass


class ArchiveShards:
    """The one set of vector shards every replica searches: `Archive.shard_vectors` on the
    archive folder, caught up with the database before each search."""

    def __init__(
        self,
        path: str,
        shards: int,
        pq_m: int = 0,
        shard_cpus: float = 1.0,
        backend: str | None = None,
        model: str | None = None,
    ) -> None:
        self.archive = Archive(Path(path), model=model, backend=backend, create=False)
        self.view = self.archive.shard_vectors(shards, pq_m=pq_m, cpus_per_shard=shard_cpus)

    def search(self, query: Any, k: int, allowed: Any = None) -> list[tuple[int, float]]:
        return self.view.search(query, k, allowed)

    def describe(self) -> dict[str, Any]:
        return self.view.describe()

    def __del__(self) -> None:
        try:
            self.view.stop()
        except Exception:  # noqa: BLE001 - shutting down
            pass


class ShardClient:
    """A replica's vector search, answered by the `ArchiveShards` deployment (called from
    the request's worker thread, never the event loop)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def search(self, query: Any, k: int, allowed: Any = None) -> list[tuple[int, float]]:
        return self.handle.search.remote(query, k, allowed).result()


class ArchiveReplica:
    """One read replica: `create_app(Archive(path))`, built on the replica (deferred ingress)."""

    def __init__(
        self,
        path: str,
        writer: Any = None,
        backend: str | None = None,
        model: str | None = None,
        shards: Any = None,
    ) -> None:
        self.path, self.writer, self.backend, self.model = path, writer, backend, model
        self.shards = shards

    def __serve_build_asgi_app__(self) -> ReplicaApp:
        archive = Archive(Path(self.path), model=self.model, backend=self.backend, create=False)
        archive.save_index = lambda: None  # only the writer saves the FAISS file
        if self.shards is not None:
            archive.use_vector_search(ShardClient(self.shards).search)
        return ReplicaApp(create_app(archive), self.writer)


def application(
    path: str | Path,
    *,
    replicas: int = 2,
    autoscaling: dict[str, Any] | None = None,
    backend: str | None = None,
    model: str | None = None,
    replica_cpus: float = 1.0,
    max_ongoing_requests: int = 8,
    shards: int = 0,
    pq_m: int = 0,
    shard_cpus: float = 1.0,
) -> Any:
    """The Serve application: read replicas in front, one writer behind them.

    `autoscaling` is Ray Serve's `autoscaling_config` (`min_replicas`, `max_replicas`,
    `target_ongoing_requests`, `upscale_delay_s`, ...); without it there are `replicas`.
    Each replica reserves `replica_cpus` and runs the model on that many threads. `shards`
    (> 0): vector search on that many shard actors of `shard_cpus` each (IVF-PQ with `pq_m`).
    """
    require_ray()
    from ray import serve

    path = str(Path(path).expanduser().resolve())
    if not (Path(path) / "archive.db").is_file():
        from ..archive import ArchiveError

        raise ArchiveError(f"{path}: no archive here (`newsarchive ingest` creates one)")
    threads = str(max(1, int(replica_cpus)))
    writer = serve.deployment(ArchiveWriter, name="ArchiveWriter").options(
        num_replicas=1,
        ray_actor_options={"num_cpus": 0, "runtime_env": {"env_vars": {"NEWSARCHIVE_THREADS": "1"}}},
        max_ongoing_requests=4,
    )  # fmt: skip
    sizing: dict[str, Any] = (
        {"autoscaling_config": autoscaling} if autoscaling else {"num_replicas": replicas}
    )
    readers = serve.deployment(serve.ingress()(ArchiveReplica), name="ArchiveReplica").options(
        ray_actor_options={
            "num_cpus": replica_cpus,
            "runtime_env": {"env_vars": {"NEWSARCHIVE_THREADS": threads}},
        },
        max_ongoing_requests=max_ongoing_requests,
        **sizing,
    )
    sharded = None
    if shards:
        sharded = (
            serve.deployment(ArchiveShards, name="ArchiveShards")
            .options(num_replicas=1, ray_actor_options={"num_cpus": 0}, max_ongoing_requests=64)
            .bind(path, shards, pq_m, shard_cpus, backend, model)
        )
    return readers.bind(path, writer.bind(path, backend, model), backend, model, sharded)


def deploy(
    path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    name: str = "newsarchive",
    **options: Any,
) -> Any:
    """Start Serve's HTTP proxy on host:port and run the application; returns its handle.

    The driver must be connected to a cluster (`ray_session(address)`); `options` go to
    `application`.
    """
    require_ray()
    from ray import serve

    app = application(path, **options)
    serve.start(http_options={"host": host, "port": port})
    return serve.run(app, name=name, route_prefix="/")


def serve_until_stopped(path: str | Path, address: str | None = "local", **options: Any) -> None:
    """`newsarchive serve --ray`: deploy on the cluster at `address`, serve until Ctrl-C or
    SIGTERM, then take the application down (and a local Ray with it)."""
    import signal

    from ..archive import ray_session

    with ray_session(address):
        from ray import serve

        deploy(path, **options)
        stopping = threading.Event()
        try:
            signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        except ValueError:  # not the main thread
            pass
        try:
            while not stopping.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            serve.shutdown()
            time.sleep(0.2)
