"""Recall of every vector index kind against exact search, on real embeddings.

    .venv/bin/python bench/recall.py                              # embed once, then every size
    .venv/bin/python bench/recall.py --sizes real,100000,1000000 --kinds ivf,ivf-sq8,ivf-pq48

Vectors are cached under `bench/.work/recall/` (`--cache` moves it). Skips without ../shared/.

Stage 1 (once, cached): the full Reuters-21578 (21,578 stories) and BBC (2,225) corpora are
ingested, bodies only, into archives under `CACHE/archives/` with the fp32 `onnx` backend, so the
passages are exactly the ones an archive makes (128-token packing, exact copies stored once);
their vectors and passage ids are written to `CACHE/vectors/*.npy` and reused by later runs.

Stage 2: queries are real headlines (the BBC and Reuters dev sets; `--queries` takes any JSONL
files with a `query` field, e.g. a set of question-form queries), embedded by the same model.
Ground truth is exact inner-product search over the same collection. For each collection size
and index kind it sweeps `nprobe` (IVF kinds) or `efSearch` (HNSW) and prints recall@10,
recall@500 and the search latency (one FAISS thread, one query at a time, as in the archive;
the best of three rounds' p50, since other load on a shared machine only ever adds time).
Kinds: the archive's `flat`, `ivf` (IVF-Flat) and `hnsw` as it builds them, and for memory
`ivf-sq8` (8-bit scalar codes), `ivf-pqM` (M bytes a vector) and any kind + `-r` (an exact
re-rank of 4 x k candidates, whose vectors an archive could read from SQLite).

Sizes past the real ~45k passages are built from the real vectors (see `grow`): each extra
vector is a real passage vector moved part of the way towards one of its 10 nearest real
neighbours, plus a little isotropic noise, then normalised. That stays on the data's manifold
(unlike the clustered synthetic vectors of bench/query.py) but is still an approximation of a
real 1M-passage archive: read its figures as an estimate.
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
CORPORA = {"reuters": "corpora/reuters21578.jsonl", "bbc": "corpora/bbc.jsonl"}
QUERY_SETS = {"bbc": "eval/bbc_headlines.jsonl", "reuters": "eval/reuters21578_headlines.jsonl"}
TIMING_ROUNDS = 3
REFINE_FACTOR = 4  # `-r` kinds re-rank 4 x k candidates by their exact vectors


def corpus_vectors(cache: Path, backend: str = "onnx") -> tuple[np.ndarray, np.ndarray]:
    """(passage keys, vectors) of both corpora, embedded once and cached as .npy.

    Keys are `corpus_index * 10**9 + passage id`, unique across the two archives.
    """
    from newsarchive.archive import Archive

    folder = cache / "vectors"
    folder.mkdir(parents=True, exist_ok=True)
    keys, vectors = [], []
    for number, (name, corpus) in enumerate(CORPORA.items()):
        ids_file = folder / f"{name}-{backend}.ids.npy"
        vectors_file = folder / f"{name}-{backend}.vectors.npy"
        if not vectors_file.exists():
            archive = Archive(cache / "archives" / f"{name}-{backend}", backend=backend)
            if archive.stats()["articles"] == 0:
                started = time.perf_counter()
                report = archive.ingest([SHARED / corpus], keep_titles=False)
                print(
                    f"ingested {name}: {report.summary()} ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
            parts = list(archive.store.iter_vectors())
            archive.close()
            np.save(ids_file, np.concatenate([p[0] for p in parts]))
            np.save(vectors_file, np.vstack([p[1] for p in parts]).astype(np.float32))
        ids = np.load(ids_file)
        keys.append(ids + number * 10**9)
        vectors.append(np.load(vectors_file))
    return np.concatenate(keys), np.vstack(vectors)


def load_queries(files: list[Path]) -> tuple[list[str], list[str]]:
    """(texts, group) of every query line `{query, ...}`; group = the file's stem."""
    texts, groups = [], []
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["query"])
                groups.append(file.stem)
    return texts, groups


def query_vectors(cache: Path, texts: list[str], backend: str = "onnx") -> np.ndarray:
    import hashlib

    from newsarchive.index.embedders import make_embedder

    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    file = cache / "vectors" / f"queries-{backend}-{digest}.npy"
    if not file.exists():
        embedder = make_embedder(backend, cache_dir=cache / "models")
        np.save(file, embedder.encode(texts))
    return np.load(file)


def grow(base: np.ndarray, size: int, seed: int = 0, noise: float = 0.1) -> np.ndarray:
    """`size` unit vectors: the real ones first, then each extra one a real vector moved a
    uniform 0-50% of the way towards one of its 10 nearest real neighbours, plus isotropic
    noise of norm ~`noise`, normalised. New passages about the same stories, approximately."""
    import faiss

    if size <= len(base):
        return base[:size]
    rng = np.random.default_rng(seed)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    _, neighbours = flat.search(base, 11)
    neighbours = neighbours[:, 1:]
    out = np.empty((size, base.shape[1]), dtype=np.float32)
    out[: len(base)] = base
    for start in range(len(base), size, 200_000):
        m = min(200_000, size - start)
        source = rng.integers(0, len(base), m)
        target = neighbours[source, rng.integers(0, 10, m)]
        t = rng.uniform(0, 0.5, (m, 1)).astype(np.float32)
        chunk = base[source] + t * (base[target] - base[source])
        chunk += (noise / np.sqrt(base.shape[1])) * rng.standard_normal(chunk.shape).astype(
            np.float32
        )
        out[start : start + m] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def exact(collection: np.ndarray, queries: np.ndarray, k: int, scores: bool = False):
    """Exact top-k ids (and, with `scores`, each query's top-1 cosine)."""
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    flat = faiss.IndexFlatIP(collection.shape[1])
    flat.add(collection)
    found, ids = flat.search(queries, k)
    return (ids, found[:, 0]) if scores else ids


def nearest_cosine(collection: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """Cosine of each sampled row to its nearest other row (exact)."""
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    flat = faiss.IndexFlatIP(collection.shape[1])
    flat.add(collection)
    found, ids = flat.search(collection[sample], 2)
    return np.where(ids[:, 0] == sample, found[:, 1], found[:, 0])


def recall_at(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth)]))


def timed(search, queries: np.ndarray, k: int, timing_queries: int) -> tuple[np.ndarray, float]:
    """Ids for every query, and the p50 latency (ms) of the first `timing_queries`, one at a
    time on one thread (the archive's setting)."""
    import faiss

    faiss.omp_set_num_threads(1)
    for q in queries[:5]:
        search(q[None], k)
    p50s = []
    for _ in range(TIMING_ROUNDS):  # the best round's p50: other load only ever adds time
        seconds = []
        for q in queries[:timing_queries]:
            started = time.perf_counter()
            search(q[None], k)
            seconds.append(time.perf_counter() - started)
        p50s.append(float(np.percentile(np.array(seconds) * 1000, 50)))
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    _, ids = search(queries, k)  # the recall figures: all queries at once
    return ids, min(p50s)


def index_bytes(index) -> int:
    import faiss

    return int(faiss.serialize_index(index).nbytes)


def build(kind: str, vectors: np.ndarray, nlist: int | None = None, add: bool = True):
    """A FAISS index of `kind` over `vectors`, built as the archive builds it where it has one
    (flat, ivf, hnsw), else the IVF variant `ivf-sq8` / `ivf-pqM` (M sub-quantisers of 8 bits)
    with the archive's number of lists and its training sample (40 vectors per list)."""
    import faiss

    from newsarchive.index.vectors import build_index, ivf_lists

    d = vectors.shape[1]
    ids = np.arange(len(vectors), dtype=np.int64)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    if kind.endswith("-r"):  # the same, with an exact re-rank of k_factor x k candidates
        base = build(kind[:-2], vectors, nlist or ivf_lists(len(vectors)), add=False)
        refine = faiss.IndexRefineFlat(base)
        refine.add(vectors)
        base.this.disown()
        refine.own_fields = True
        return refine
    if kind in ("flat", "ivf", "hnsw") and nlist is None:
        return build_index(kind, d, ids, vectors).index
    nlist = nlist or ivf_lists(len(vectors))
    quantizer = faiss.IndexFlatIP(d)
    if kind == "ivf":
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    elif kind == "ivf-sq8":
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
    elif kind.startswith("ivf-pq"):
        m = int(kind.removeprefix("ivf-pq"))
        index = faiss.IndexIVFPQ(quantizer, d, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
    else:
        raise ValueError(kind)
    index.cp.niter = 12
    index.cp.max_points_per_centroid = 40
    rng = np.random.default_rng(0)
    sample = vectors
    training = max(40 * nlist, 256 * 40 if kind.startswith("ivf-pq") else 0)
    if len(vectors) > training:
        sample = vectors[np.sort(rng.choice(len(vectors), training, replace=False))]
    index.train(sample)
    if add:
        index.add(vectors)
    quantizer.this.disown()
    index.quantizer = quantizer
    return index


def sweep(index, kind: str, queries, truth10, truth500, timing_queries: int, values):
    """Rows (setting, recall@10, recall@500, p50 ms at k=10, p50 ms at k=500)."""
    import faiss

    rows = []
    for value in values:
        if kind == "hnsw":

            def search(q, k, value=value):
                params = faiss.SearchParametersHNSW(efSearch=max(value, k))
                return index.search(q, k, params=params)

            label = f"efSearch={value}"
        elif kind == "flat":

            def search(q, k):
                return index.search(q, k)

            label = "exact"
        elif kind.endswith("-r"):
            ivf = faiss.extract_index_ivf(index)
            if value > ivf.nlist:
                continue

            def search(q, k, value=value):
                params = faiss.IndexRefineSearchParameters(
                    k_factor=REFINE_FACTOR,
                    base_index_params=faiss.SearchParametersIVF(nprobe=value),
                )
                return index.search(q, k, params=params)

            label = f"nprobe={value}, re-rank {REFINE_FACTOR}k"
        else:
            ivf = faiss.extract_index_ivf(index)
            if value > ivf.nlist:
                continue

            def search(q, k, value=value):
                return index.search(q, k, params=faiss.SearchParametersIVF(nprobe=value))

            label = f"nprobe={value}"
        found10, ms10 = timed(search, queries, 10, timing_queries)
        found500, ms500 = timed(search, queries, 500, timing_queries)
        rows.append(
            (
                label,
                recall_at(found10, truth10, 10),
                recall_at(found500, truth500, 500),
                ms10,
                ms500,
            )
        )
        print(
            f"  {kind} {label}: recall@10 {rows[-1][1]:.3f}, recall@500 {rows[-1][2]:.3f}, "
            f"p50 {ms10:.2f} ms (k=10), {ms500:.2f} ms (k=500)",
            flush=True,
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".work" / "recall")
    parser.add_argument("--sizes", default="real,100000,1000000")
    parser.add_argument("--kinds", default="ivf,hnsw")
    parser.add_argument("--nprobe", default="4,8,16,32,64,128,256")
    parser.add_argument(
        "--lists", default="", help="IVF kinds: numbers of lists to build (default: the archive's)"
    )
    parser.add_argument("--ef", default="16,32,64,128,256,512")
    parser.add_argument("--hnsw-max", type=int, default=1_000_000)
    parser.add_argument("--queries", type=Path, nargs="*", help="JSONL files with a query field")
    parser.add_argument("--timing-queries", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.1, help="norm of the added noise")
    parser.add_argument("--json", type=Path, help="write every row here too")
    args = parser.parse_args()
    if not all((SHARED / c).exists() for c in CORPORA.values()):
        print(f"{SHARED} not found; this benchmark needs ../shared/ (skipped)")
        return 0
    import faiss

    from newsarchive.index.embedders.autotune import describe_cpu
    from newsarchive.index.vectors import auto_kind, ivf_nprobe

    started = time.perf_counter()
    args.cache.mkdir(parents=True, exist_ok=True)
    keys, base = corpus_vectors(args.cache)
    files = args.queries or [SHARED / f for f in QUERY_SETS.values()]
    texts, groups = load_queries(files)
    queries = query_vectors(args.cache, texts)
    print(
        f"{len(base):,} real passages (Reuters + BBC bodies, 128-token packing), "
        f"{len(queries)} queries ({', '.join(f'{g}: {groups.count(g)}' for g in dict.fromkeys(groups))}); "
        f"faiss {faiss.__version__}; CPU {describe_cpu()}; vectors ready in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    results = []
    for size_arg in args.sizes.split(","):
        size = len(base) if size_arg == "real" else int(size_arg)
        collection = grow(base, size, noise=args.noise)
        started = time.perf_counter()
        truth, top1 = exact(collection, queries, 500, scores=True)
        exact_s = time.perf_counter() - started
        # how crowded the collection is: cosine of sampled passages to their nearest neighbour
        sample = np.random.default_rng(1).choice(size, 1000, replace=False)
        nearest = nearest_cosine(collection, sample)
        print(
            f"\n## {size:,} passages ({'real' if size == len(base) else 'grown'}); "
            f"auto picks {auto_kind(size)}; exact top-500 in {exact_s:.0f} s; nearest-neighbour "
            f"cosine of 1,000 sampled passages: median {np.median(nearest):.3f}, "
            f"p10 {np.percentile(nearest, 10):.3f}, p90 {np.percentile(nearest, 90):.3f}; "
            f"queries' top-1 cosine median {np.median(top1):.3f}",
            flush=True,
        )
        lists = [int(n) for n in args.lists.split(",") if n] or [None]
        for kind, nlist in [(k, n) for k in args.kinds.split(",") for n in lists]:
            if kind == "hnsw" and size > args.hnsw_max:
                continue
            if nlist is not None and not kind.startswith("ivf"):
                continue
            started = time.perf_counter()
            index = build(kind, collection, nlist)
            built = time.perf_counter() - started
            size_bytes = index_bytes(index) if kind != "hnsw" or size <= 200_000 else None
            if kind == "hnsw":
                values = [int(v) for v in args.ef.split(",")]
                extra = "M=32, efConstruction=64"
            elif kind == "flat":
                values = [0]
                extra = ""
            else:
                nlist = faiss.extract_index_ivf(index).nlist
                default = ivf_nprobe(nlist)
                values = sorted({int(v) for v in args.nprobe.split(",")} | {default})
                extra = f"nlist={nlist} (archive default nprobe {default})"
            print(
                f"{kind}: built in {built:.1f} s, "
                f"{'%.0f MB' % (size_bytes / 1e6) if size_bytes else 'size not measured'}; {extra}",
                flush=True,
            )
            for row in sweep(
                index, kind, queries, truth[:, :10], truth, args.timing_queries, values
            ):
                results.append(
                    {
                        "size": size,
                        "kind": kind,
                        "setting": row[0],
                        "recall10": row[1],
                        "recall500": row[2],
                        "p50_ms_k10": row[3],
                        "p50_ms_k500": row[4],
                        "build_s": built,
                        "bytes": size_bytes,
                        "detail": extra,
                    }
                )
            del index
        del collection
    print("\n| passages | kind | setting | recall@10 | recall@500 | p50 ms k=10 | p50 ms k=500 "
          "| build s | index MB |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        mb = f"{r['bytes'] / 1e6:.0f}" if r["bytes"] else "-"
        print(f"| {r['size']:,} | {r['kind']} | {r['setting']} | {r['recall10']:.3f} "
              f"| {r['recall500']:.3f} | {r['p50_ms_k10']:.2f} | {r['p50_ms_k500']:.2f} "
              f"| {r['build_s']:.1f} | {mb} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
