"""Query latency and recall@10 of the vector index at 10k, 100k and 1M passages.

    .venv/bin/python bench/query.py                      # 10k, 100k, 1M
    .venv/bin/python bench/query.py --sizes 10000 --kinds flat,ivf,hnsw

The collections are synthetic but clustered like real ones: each vector is a perturbed copy
of a real passage embedding (BBC bodies, embedded with the onnx backend into a seed archive
under bench/.work/), moved along a shared low-rank subspace plus a little isotropic noise, then
normalised. Queries are real BBC headlines embedded by the same model. Exact (flat) search is
the ground truth for recall@10. Latency is the index search alone, single-threaded as in the
archive (faiss.omp_set_num_threads(1)), at k=10 and at the search's candidate depth (500);
query encoding and a whole hybrid `Archive.search` on the seed archive are timed separately.

"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
WORK = ROOT / "bench" / ".work"


def seed_archive(articles: int):
    """A real archive of BBC bodies (onnx backend), built once and reused across runs."""
    from newsarchive.archive import Archive

    folder = WORK / f"query-seed-{articles}"
    archive = Archive(folder, backend="onnx")
    if archive.stats()["passages"] == 0:
        records = []
        with (SHARED / "corpora" / "bbc.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                record.pop("title", None)
                record.pop("paragraphs", None)
                records.append(record)
                if len(records) >= articles:
                    break
        print(f"building seed archive {folder} from {len(records)} articles ...", flush=True)
        archive.ingest_articles(records)
    return archive


def synthetic(base: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n unit vectors: real embeddings moved along a shared 32-d subspace plus noise."""
    dimension = base.shape[1]
    basis = rng.standard_normal((32, dimension)).astype(np.float32) / np.sqrt(dimension)
    out = np.empty((n, dimension), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        move = rng.standard_normal((m, 32)).astype(np.float32) @ basis
        move += 0.5 * rng.standard_normal((m, dimension)).astype(np.float32) / np.sqrt(dimension)
        move /= np.linalg.norm(move, axis=1, keepdims=True)
        chunk = base[rng.integers(0, len(base), m)] + 0.6 * move
        out[start : start + m] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def percentiles(seconds: list[float]) -> tuple[float, float, float, float]:
    ms = np.array(seconds) * 1000
    return (
        float(np.percentile(ms, 50)),
        float(np.percentile(ms, 95)),
        float(np.percentile(ms, 99)),
        len(ms) / float(np.sum(seconds)),
    )


def timed_searches(index, queries: np.ndarray, k: int) -> tuple[list[float], list[set[int]]]:
    for query in queries[:5]:  # warm-up: first touches of the index memory are not latency
        index.search(query, k)
    seconds, found = [], []
    for query in queries:
        start = time.perf_counter()
        hits = index.search(query, k)
        seconds.append(time.perf_counter() - start)
        found.append({i for i, _ in hits[:10]})
    return seconds, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--kinds", default="flat,ivf,hnsw", help="hnsw is built only to 100k")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed-articles", type=int, default=150)
    parser.add_argument("--hnsw-max", type=int, default=100_000)
    args = parser.parse_args()
    if not (SHARED / "corpora" / "bbc.jsonl").exists():
        print(f"{SHARED} not found; this benchmark needs ../shared/ (skipped)")
        return 0

    import faiss

    from newsarchive.index.vectors import auto_kind, build_index

    archive = seed_archive(args.seed_articles)
    ids, vectors = zip(*archive.store.iter_vectors())
    base = np.vstack(vectors)
    headlines = [
        json.loads(line)["query"]
        for line in (SHARED / "eval" / "bbc_headlines.jsonl").read_text().splitlines()
    ][: args.queries]
    embedder = archive.embedder
    embedder.load()
    encode_s = []
    for text in headlines:
        start = time.perf_counter()
        embedder.encode_query(text)
        encode_s.append(time.perf_counter() - start)
    queries = embedder.encode(headlines)
    p50, p95, p99, qps = percentiles(encode_s)
    print(
        f"machine: {os.cpu_count()} cpus, faiss {faiss.__version__}, 1 faiss thread; "
        f"seed: {len(base)} real passages; {len(queries)} headline queries"
    )
    print(
        f"query encoding ({embedder.backend}): p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms"
    )
    whole = []
    for text in headlines:
        start = time.perf_counter()
        archive.search(text, limit=10)
        whole.append(time.perf_counter() - start)
    p50, p95, p99, qps = percentiles(whole)
    print(
        f"Archive.search hybrid on the seed archive ({len(base)} passages, warm): p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, p99 {p99:.1f} ms, {qps:.0f} queries/s"
    )
    print()
    print(
        "| passages | index | auto picks | build s | k | p50 ms | p95 ms | p99 ms | queries/s | recall@10 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    rng = np.random.default_rng(0)
    for size in [int(s) for s in args.sizes.split(",")]:
        collection = synthetic(base, size, rng)
        passage_ids = np.arange(1, size + 1, dtype=np.int64)
        truth: list[set[int]] | None = None
        for kind in args.kinds.split(","):
            if kind == "hnsw" and size > args.hnsw_max:
                continue
            start = time.perf_counter()
            index = build_index(kind, base.shape[1], passage_ids, collection)
            build = time.perf_counter() - start
            for k in (10, 500):
                seconds, found = timed_searches(index, queries, k)
                if kind == "flat" and k == 10:
                    truth = found
                recall = (
                    np.mean([len(f & t) / 10 for f, t in zip(found, truth)])
                    if truth
                    else float("nan")
                )
                p50, p95, p99, qps = percentiles(seconds)
                print(
                    f"| {size:,} | {kind} | {auto_kind(size)} | {build:.1f} | {k} | {p50:.2f} | "
                    f"{p95:.2f} | {p99:.2f} | {qps:.0f} | {recall:.3f} |",
                    flush=True,
                )
            del index
        del collection
    archive.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
