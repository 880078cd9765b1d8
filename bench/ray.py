"""Scaling out on Ray, measured on this machine (a real local cluster of node processes).

    .venv/bin/python bench/ray.py ingest --limit 1000 --rounds 2      # Ray ingest vs local
    .venv/bin/python bench/ray.py serve --seconds 20 --clients 4      # Serve replicas vs serve
    .venv/bin/python bench/ray.py shards --size 1000000 --shards 1,2,4 --pq 0,48

`ingest`: the same BBC bodies (titles dropped, as in the eval set-up) ingested into fresh
archives by `Archive.ingest_articles` (local, the onnx backend on both cores) and by the same
call with `encoder=RayEncoder(...)` (Ray Data: a LocalCluster of two 1-CPU worker nodes, an
actor pool of two embedders with one thread each), alternated `--rounds` times; wall time from
records in memory to a saved archive, model loads included, cluster start excluded (a cluster
outlives an ingest). Besides wall time, the CPU seconds of this process and all its descendants
(driver, Ray's daemons, actors) are counted, which does not depend on how busy the shared
machine is. Each Ray Data execution (window) is reported with its model-load time and share.
`--actors REV` adds a third variant: the long-lived actor pool that embedded before Ray Data,
loaded from `git show REV:index/distributed/embedding.py` (e.g. 1899007).

`serve`: the archive of the last `ingest` run served by `newsarchive serve` (uvicorn, one
process) and by Ray Serve (`api.replicas.deploy`: 2 replicas of 1 CPU, and 1 replica of 2
CPUs, on one 2-CPU node), each loaded by `--clients` threads sending BBC headlines for
`--seconds`, semantic then hybrid.

`shards`: `--size` synthetic passages (real BBC passage embeddings perturbed, as in
bench/query.py), one IVF quantizer (and PQ codebook) trained once; the archive's `VectorIndex`
over it against `ShardedIndex` with S shard actors, 200 real headline queries, top-10,
unfiltered and with a filter allowing 10% of the passages. Every sharded answer is checked
equal to the single index's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
# This file is bench/ray.py: with bench/ on sys.path (Python puts a script's folder first),
# `import ray` would import this file. Take the folder off; bench/query.py is loaded by path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]


def bench_module(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def emit(**row) -> None:
    print(json.dumps(row), flush=True)


def bbc_records(limit: int) -> list[dict]:
    records = []
    with (SHARED / "corpora" / "bbc.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            record.pop("title", None)
            record.pop("paragraphs", None)
            records.append(record)
            if len(records) >= limit:
                break
    return records


def headlines(limit: int) -> list[str]:
    with (SHARED / "eval" / "bbc_headlines.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line)["query"] for line in handle][:limit]


def embedder(cache: Path, threads: int | None = None):
    from newsarchive.index.embedders import make_embedder

    return make_embedder("onnx", cache_dir=cache, threads=threads)


# -- ingest ---------------------------------------------------------------------------------
def tree_cpu_by_pid(root: int | None = None, reaped: bool = True) -> dict[int, float]:
    """CPU seconds (user + system) used so far by this process and each of its descendants.

    Counts reaped children too (cutime/cstime), so actor processes that exited are in their
    raylet's total. Unlike wall time, this does not depend on how many other processes share
    the cores, which on this machine is what decides wall time.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, list[str]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_text(errors="replace")
            except OSError:
                continue
            fields = raw[raw.rfind(")") + 2 :].split()
            stats[int(entry)] = (int(fields[1]), fields)
    root = os.getpid() if root is None else root
    tree, todo = {root}, [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, _) in stats.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                todo.append(pid)
    found = {}
    for pid in tree:
        if pid in stats:
            fields = stats[pid][1]
            columns = (11, 12, 13, 14) if reaped else (11, 12)  # utime stime (cutime cstime)
            found[pid] = sum(int(fields[i]) for i in columns) / ticks
    return found


def tree_cpu_seconds(root: int | None = None) -> float:
    """CPU seconds of this process and its descendants, all together."""
    return sum(tree_cpu_by_pid(root).values())


def tree_cpu_since(before: dict[int, float], exclude: set[int] = frozenset()) -> float:
    """CPU seconds the process tree used since `before` (a `tree_cpu_by_pid`), counted per
    process alive now. A difference of totals was wrong here: the last job's actors, in
    `before`, left the total when they exited (their times did not show up in the raylet's
    cutime) and cancelled this job's CPU (a first version reported 3 ms/passage).
    Only each process's own time counts (no cutime), so an earlier job's workers reaped now
    are not added either; this job's actors are alive when it is read."""
    now = tree_cpu_by_pid(reaped=False)
    return sum(
        max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in now.items() if pid not in exclude
    )


def cpu_meter(tree: bool):
    """A function that says the CPU seconds used since this call: of this process alone, or
    (tree) of this process and every process under it, counted per process; `exclude`: pids
    not to count (Ray Data's actors, which report their own CPU)."""
    if tree:
        before_tree = tree_cpu_by_pid(reaped=False)
        return lambda exclude=frozenset(): tree_cpu_since(before_tree, exclude)
    before = own_cpu_seconds()
    return lambda: own_cpu_seconds() - before


def own_cpu_seconds() -> float:
    """CPU seconds (user + system) of this process alone, all its threads."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_ingest(args) -> None:
    from newsarchive.archive import Archive
    from newsarchive.index.distributed.cluster import LocalCluster
    from newsarchive.index.distributed.embedding import EmbedderSpec, RayEncoder

    work, cache = args.work, args.work / "models"
    made = embedder(cache)
    made.load()  # the ONNX export, once, outside every timing
    spec = EmbedderSpec("onnx", cache_dir=str(cache), fingerprint=made.fingerprint)
    records = bbc_records(args.limit)
    layout = {"2x1": (2, 1), "1x2": (1, 2)}[args.layout]
    cluster = LocalCluster(workers=layout[0], worker_cpus=layout[1], object_store_mb=200).start()
    emit(step="cluster", layout=args.layout, start_s=round(cluster.started_s, 1))
    try:
        variants = ("local", "ray", "actors") if args.actors else ("local", "ray")
        if args.variants:
            variants = tuple(args.variants.split(","))
        actor_pool = previous_encoder(args.actors) if args.actors else None
        for round_ in range(args.rounds):
            shift = round_ % len(variants)  # each variant first in turn
            for variant in variants[shift:] + variants[:shift]:
                folder = work / f"ingest-{variant}"
                shutil.rmtree(folder, ignore_errors=True)
                # CPU: local, this process alone (no Ray on a machine without it); Ray, this
                # process and every node process (daemons and actors), read before the actors
                # stop, since a stopped actor's CPU leaves the tree with it (tree_cpu_since)
                measure = cpu_meter(tree=variant != "local")
                started = time.perf_counter()
                rate = None
                with Archive(folder, embedder=embedder(cache)) as archive:
                    if variant == "local":
                        report = archive.ingest_articles(records)
                        seconds, cpu = time.perf_counter() - started, measure()
                    else:
                        options = {"window": args.window} if variant == "ray" else {}
                        kind = RayEncoder if variant == "ray" else actor_pool.RayEncoder
                        with kind(spec, cpus_per_actor=layout[1], **options) as encoder:
                            report = archive.ingest_articles(records, encoder=encoder)
                            seconds = time.perf_counter() - started
                            if variant == "ray":  # actors gone with their windows: own count
                                pids = {int(w.split(":")[1]) for w in encoder.workers}
                                cpu = measure(pids) + encoder.actor_cpu_s
                            else:  # the pool's actors are alive until the encoder closes
                                cpu = measure()
                            rate = round(encoder.rate, 1)
                        for number, window in enumerate(getattr(encoder, "windows", [])):
                            emit(step="window", round=round_, window=number,
                                 texts=window.texts, actors=window.actors,
                                 seconds=round(window.seconds, 2),
                                 first_rows_s=round(window.first_rows_s, 2),
                                 model_load_s=round(window.load_s, 2),
                                 load_share=round(window.load_s / max(seconds, 1e-9), 3))  # fmt: skip
                emit(
                    step="ingest",
                    cpu_s=round(cpu, 1),
                    cpu_ms_per_passage=round(1000 * cpu / max(1, report.passages_embedded), 1),
                    load_avg=os.getloadavg()[0],
                    round=round_,
                    variant=variant,
                    articles=report.articles,
                    passages=report.passages_embedded,
                    seconds=round(seconds, 2),
                    passages_per_s=round(report.passages_embedded / seconds, 1),
                    stage_passages_per_s=rate,
                )
        reference = "local" if "local" in variants else variants[0]
        for variant in variants:
            if variant != reference:
                compare(work / f"ingest-{reference}", work / f"ingest-{variant}")
        target = work / "bbc-archive"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(work / f"ingest-{variants[-1]}", target)
    finally:
        emit(step="stop", killed=cluster.stop())


def previous_encoder(rev: str):
    """The actor-pool `embedding.py` of git revision `rev`, as a module whose classes travel to
    the actors by value (the nodes' installed package has only the Ray Data one)."""
    import importlib.util

    from ray import cloudpickle

    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:index/distributed/embedding.py"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = ROOT / "bench" / ".work" / "embedding_actors.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    name = "newsarchive.index.distributed.embedding_actors"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    cloudpickle.register_pickle_by_value(module)
    return module


def compare(a: Path, b: Path) -> None:
    import sqlite3

    def rows(folder: Path):
        with sqlite3.connect(folder / "archive.db") as conn:
            return conn.execute(
                "SELECT article_id, position, text, vector FROM passages ORDER BY article_id, position"
            ).fetchall()

    left, right = rows(a), rows(b)
    assert [r[:3] for r in left] == [r[:3] for r in right], "passages differ"
    cosines = [
        float(np.frombuffer(x[3], np.float32) @ np.frombuffer(y[3], np.float32))
        for x, y in zip(left, right)
    ]
    emit(step="compare", passages=len(left), min_cosine=min(cosines), mean=float(np.mean(cosines)))


# -- serve ----------------------------------------------------------------------------------
def load(base: str, queries: list[str], mode: str, seconds: float, clients: int) -> dict:
    import httpx

    latencies: list[float] = []
    errors = [0]
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()

    def client(offset: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            i = offset
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = http.get(
                    "/search", params={"q": queries[i % len(queries)], "mode": mode}
                )
                took = time.perf_counter() - start
                with lock:
                    if response.status_code == 200:
                        latencies.append(took)
                    else:
                        errors[0] += 1
                i += clients

    for query in queries[:8]:  # warm-up
        httpx.get(f"{base}/search", params={"q": query, "mode": mode}, timeout=60)
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    cpu = tree_cpu_seconds()
    begun = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - begun
    cpu = tree_cpu_seconds() - cpu  # server(s), cluster and these clients together
    ms = np.array(latencies) * 1000
    return {
        "cpu_ms_per_query": round(1000 * cpu / max(1, len(latencies)), 1),
        "load_avg": os.getloadavg()[0],
        "queries_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "answered": len(latencies),
        "errors": errors[0],
    }


def wait_health(base: str, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{base} never became healthy")


def bench_serve(args) -> None:
    from newsarchive.api.replicas import deploy
    from newsarchive.index.distributed.cluster import LocalCluster

    archive = args.work / "bbc-archive"
    if not (archive / "archive.db").exists():
        raise SystemExit(f"{archive}: run `bench/ray.py ingest` first")
    queries = headlines(200)
    port = 8791
    base = f"http://127.0.0.1:{port}"

    def plain() -> None:
        env = dict(os.environ, HF_HUB_OFFLINE="1")
        server = subprocess.Popen(
            [sys.executable, "-m", "newsarchive", "serve", "--data", str(archive), "--port",
             str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_health(base)
            for mode in ("semantic", "hybrid"):
                emit(step="serve", variant="newsarchive serve", mode=mode,
                     **load(base, queries, mode, args.seconds, args.clients))  # fmt: skip
        finally:
            server.terminate()
            server.wait(30)

    plain()
    cluster = LocalCluster(workers=1, worker_cpus=2, object_store_mb=200).start()
    try:
        from ray import serve

        for replicas, cpus in ((2, 1.0), (1, 2.0)):
            started = time.perf_counter()
            deploy(archive, replicas=replicas, replica_cpus=cpus, port=port)
            wait_health(base)
            emit(step="deploy", replicas=replicas, seconds=round(time.perf_counter() - started, 1))
            for mode in ("semantic", "hybrid"):
                emit(step="serve", variant=f"ray serve {replicas}x{cpus:g}cpu", mode=mode,
                     **load(base, queries, mode, args.seconds, args.clients))  # fmt: skip
            serve.shutdown()
    finally:
        emit(step="stop", killed=cluster.stop())
    plain()


# -- shards ---------------------------------------------------------------------------------
def bench_shards(args) -> None:
    import faiss

    from newsarchive.archive import Archive
    from newsarchive.index.distributed.cluster import LocalCluster
    from newsarchive.index.vectors import ivf_lists
    from newsarchive.index.vectors.sharded import ShardedIndex, ShardSettings, single_index, train

    synthetic = bench_module("query").synthetic

    archive = args.work / "bbc-archive"
    with Archive(archive, embedder=embedder(args.work / "models")) as opened:
        chunks = list(opened.store.iter_vectors())
        base = np.vstack([c[1] for c in chunks])
        queries = opened.embedder.encode(headlines(args.queries))
    rng = np.random.default_rng(args.size)
    vectors = synthetic(base, args.size, rng)
    ids = np.arange(1, args.size + 1, dtype=np.int64)
    allowed = np.sort(rng.choice(ids, args.size // 10, replace=False))
    d = vectors.shape[1]
    nlist = ivf_lists(args.size)
    truth = exact_top10(vectors, ids, queries)
    emit(step="data", size=args.size, base=len(base), nlist=nlist)
    cluster = LocalCluster(workers=2, worker_cpus=1, object_store_mb=args.object_store_mb).start()
    try:
        for pq_m in args.pq:
            settings = ShardSettings(nlist=nlist, pq_m=pq_m)
            sample = vectors[np.sort(rng.choice(args.size, 40 * nlist, replace=False))]
            started = time.perf_counter()
            trained = train(d, sample, settings)
            emit(step="train", pq_m=pq_m, seconds=round(time.perf_counter() - started, 1))
            started = time.perf_counter()
            single = single_index(trained, ids, vectors, settings)
            built = time.perf_counter() - started
            size = len(faiss.serialize_index(single.index))
            expected = {}
            for name, filt in (("none", None), ("10%", allowed)):
                seconds, answers = timed(single, queries, filt)
                expected[name] = answers
                recall = None
                if filt is None:
                    recall = float(np.mean([len(set(a) & t) / 10 for a, t in zip(answers, truth)]))
                emit(step="search", index="single", pq_m=pq_m, shards=0, filter=name,
                     build_s=round(built, 1), bytes_per_vector=round(size / args.size, 1),
                     recall_at_10=recall, **stats(seconds))  # fmt: skip
            del single
            for shards in args.shards:
                cpus = min(1.0, 2.0 / shards)
                sharded = ShardedIndex(d, shards, settings, cpus_per_shard=cpus)
                started = time.perf_counter()
                sharded.start(trained)
                sharded.add(ids, vectors)
                built = time.perf_counter() - started
                for name, filt in (("none", None), ("10%", allowed)):
                    seconds, answers = timed(sharded, queries, filt)
                    same = answers == expected[name]
                    emit(step="search", index="sharded", pq_m=pq_m, shards=shards, filter=name,
                         build_s=round(built, 1), equal_to_single=same, **stats(seconds))  # fmt: skip
                sharded.stop()
    finally:
        emit(step="stop", killed=cluster.stop())


def exact_top10(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    """Exact top-10 ids by brute force, the ground truth for recall."""
    scores = np.zeros((len(queries), 0), np.float32)
    top_ids = np.zeros((len(queries), 0), np.int64)
    for start in range(0, len(vectors), 200_000):
        chunk = vectors[start : start + 200_000] @ queries.T  # (chunk, q)
        scores = np.hstack([scores, chunk.T])
        top_ids = np.hstack([top_ids, np.broadcast_to(ids[start : start + 200_000], chunk.T.shape)])
        keep = np.argsort(-scores, axis=1)[:, :10]
        scores = np.take_along_axis(scores, keep, 1)
        top_ids = np.take_along_axis(top_ids, keep, 1)
    return [set(row.tolist()) for row in top_ids]


def timed(index, queries: np.ndarray, allowed) -> tuple[list[float], list[list[int]]]:
    for query in queries[:5]:
        index.search(query, 10, allowed)
    seconds, answers = [], []
    for query in queries:
        start = time.perf_counter()
        hits = index.search(query, 10, allowed)
        seconds.append(time.perf_counter() - start)
        answers.append([i for i, _ in hits])
    return seconds, answers


def stats(seconds: list[float]) -> dict:
    ms = np.array(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "queries": len(ms),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("ingest", "serve", "shards"))
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".work" / "ray")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--layout", default="2x1", help="worker nodes x CPUs each: 2x1 or 1x2")
    parser.add_argument("--actors", default="", help="git revision of the actor-pool encoder")
    parser.add_argument("--variants", default="", help="ingest: e.g. ray,actors (default all)")
    parser.add_argument("--window", type=int, default=16_384, help="ingest: texts per window")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument(
        "--shards", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4]
    )
    parser.add_argument("--pq", type=lambda s: [int(x) for x in s.split(",")], default=[0, 48])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--object-store-mb", type=int, default=600)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    {"ingest": bench_ingest, "serve": bench_serve, "shards": bench_shards}[args.what](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
