"""Whole-query latency at 10k, 100k and 1M passages: in-process `Archive.search` and over HTTP.

    .venv/bin/python bench/serving.py                     # 10k, 100k, 1M
    .venv/bin/python bench/serving.py --sizes 100000 --queries 100

`bench/query.py` times the FAISS index alone; this times what a user waits for: query encoding,
the filtered vector search, FTS5 BM25, fusion, grouping, snippets and the SQLite reads, first
in-process, then through `newsarchive serve` (uvicorn, a separate process) with one keep-alive
HTTP client sending one query at a time.

The archives are synthetic and say so: their passage texts are real (Reuters and BBC body
paragraphs, reused in order until the size is reached, four per article) so FTS5 sees real term
statistics, but their vectors are the clustered synthetic ones of `bench/query.py`, not
embeddings of those texts, so only the timings mean anything, not the rankings. Queries are real
BBC headlines. Archives are written straight through the store (no embedding) under
bench/.work/serving-<size>/ and reused by later runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
WORK = ROOT / "bench" / ".work"
sys.path.insert(0, str(ROOT / "bench"))

from query import percentiles, seed_archive, synthetic  # noqa: E402


def paragraphs() -> list[tuple[str, str, str | None]]:
    """(text, source, date) for every body paragraph of the Reuters and BBC corpora."""
    out = []
    for name in ("reuters21578.jsonl", "bbc.jsonl"):
        with (SHARED / "corpora" / name).open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                parts = record.get("paragraphs") or record["body"].split("\n\n")
                for text in parts:
                    if len(text.split()) >= 8:
                        out.append((text.strip(), record.get("source") or name, record.get("date")))
    return out


def build(size: int, base: np.ndarray, pool: list, embedder) -> Path:
    """A synthetic archive of `size` passages (see the module docstring), built once."""
    from newsarchive.archive import Archive
    from newsarchive.archive.records import ArticleWrite, PassageRow

    folder = WORK / f"serving-{size}"
    archive = Archive(folder, embedder=embedder)
    stored = archive.stats()["passages"]
    if stored == size:
        archive.close()
        return folder
    if stored:
        raise SystemExit(f"{folder} holds {stored} passages, not {size}: delete it")
    archive.identity.check(archive.embedder, claim=True)
    vectors = synthetic(base, size, np.random.default_rng(size))
    started = time.perf_counter()
    writes = []
    for number, start in enumerate(range(0, size, 4)):
        texts = [pool[(start + i) % len(pool)] for i in range(min(4, size - start))]
        row = {
            "id": f"syn-{number}",
            "title": "",
            "author": None,
            "source": texts[0][1],
            "date": texts[0][2],
            "date_raw": texts[0][2],
            "url": None,
            "metadata": {},
            "text_hash": f"syn-{number}",
            "meta_hash": "",
        }
        passages = [
            PassageRow(
                row["id"], i, text, hashlib.sha256(text.encode()).hexdigest(), vectors[start + i]
            )
            for i, (text, _, _) in enumerate(texts)
        ]
        writes.append(ArticleWrite(row, passages))
        if len(writes) == 5000 or start + 4 >= size:
            archive.store.save(writes)
            writes = []
            print(f"  {start + 4:,} passages written", end="\r", flush=True)
    archive.close()
    with Archive(folder, embedder=embedder) as archive:
        archive.vectors.current()  # build the FAISS index from the database
        kind = archive.stats().get("index")
    print(
        f"built {folder} ({size:,} passages, index {kind}) in {time.perf_counter() - started:.0f} s"
    )
    return folder


def time_calls(call, queries: list[str]) -> list[float]:
    for query in queries[:5]:  # warm-up
        call(query)
    seconds = []
    for query in queries:
        start = time.perf_counter()
        call(query)
        seconds.append(time.perf_counter() - start)
    return seconds


def serve(folder: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "newsarchive", "serve", "--data", str(folder)]
    command += ["--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
        if process.poll() is not None:
            raise SystemExit(process.stderr.read().decode())
    raise SystemExit("serve did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--modes", default="semantic,hybrid")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if not (SHARED / "corpora" / "bbc.jsonl").exists():
        print(f"{SHARED} not found; this benchmark needs ../shared/ (skipped)")
        return 0
    import httpx

    from newsarchive.archive import Archive

    seed = seed_archive(150)
    base = np.vstack([vector for _, vector in seed.store.iter_vectors()])
    embedder = seed.embedder
    headlines = [
        json.loads(line)["query"]
        for line in (SHARED / "eval" / "bbc_headlines.jsonl").read_text().splitlines()
    ][: args.queries]
    pool = paragraphs()
    print(f"{os.cpu_count()} cpus; {len(pool):,} real paragraphs; {len(headlines)} queries")
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        folder = build(size, base, pool, embedder)
        with Archive(folder, embedder=embedder) as archive:
            archive.searcher()  # model and index loaded: a server's steady state
            kind = archive.stats().get("index")
            for mode in args.modes.split(","):
                seconds = time_calls(lambda q, m=mode: archive.search(q, mode=m), headlines)
                rows.append((size, kind, mode, "in-process", *percentiles(seconds)))
                print("|", " | ".join(map(str, rows[-1])), flush=True)
        server = serve(folder, args.port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=60) as client:
                for mode in args.modes.split(","):

                    def ask(query: str, mode: str = mode) -> None:
                        response = client.get("/search", params={"q": query, "mode": mode})
                        response.raise_for_status()

                    seconds = time_calls(ask, headlines)
                    rows.append((size, kind, mode, "HTTP", *percentiles(seconds)))
                    print("|", " | ".join(map(str, rows[-1])), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)
    print()
    print("| passages | index | mode | path | p50 ms | p95 ms | p99 ms | queries/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for size, kind, mode, path, p50, p95, p99, qps in rows:
        print(
            f"| {size:,} | {kind} | {mode} | {path} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {qps:.0f} |"
        )
    seed.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
