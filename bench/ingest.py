"""Ingest throughput against bare encoding of the same passage texts, per backend.

    .venv/bin/python bench/ingest.py --limit 300 --backends onnx,onnx-int8,torch

It times, in one run and alternating between the backends: `encode` of every backend on exactly
the passages ingest would embed (same batch size), then `Archive.ingest_articles` of each into a
fresh archive (reversed order), then `encode` again (reversed order); the
ratio is ingest passages/s over the mean of the two encode runs, so drift from other load on
the machine shows up in the spread rather than in the ratio. With torch among the backends (its
encode is bare `SentenceTransformer.encode`, batch 32), each ingest is also set against that
baseline: "ingest ÷ torch" > 1 means ingest finished faster than bare torch encoding of the same
passages. It also prints the CPU, the cosine between each backend's vectors and torch's, and
the backend a new archive would get (index/embedders/autotune.py `pick`) from this run's ingest
rates. Reads ../shared/corpora/bbc.jsonl unless given a corpus; creates bench/.work/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "bbc.jsonl"
WORK = ROOT / "bench" / ".work"


def load_records(path: Path, limit: int) -> list[dict]:
    records = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            record.pop("title", None)  # bodies only, as in the eval set-up
            record.pop("paragraphs", None)
            records.append(record)
            if len(records) >= limit:
                break
    return records


def passage_texts(records: list[dict], embedder) -> list[str]:
    """The texts ingest will embed, split exactly as ingest splits them (unique, in order)."""
    from newsarchive.archive.ingest.passages import PassagePolicy, make_passages
    from newsarchive.archive.sources import article_from_record

    policy = PassagePolicy(max_tokens=embedder.max_tokens)
    texts: list[str] = []
    for number, record in enumerate(records):
        article = article_from_record(dict(record), f"article {number + 1}")
        texts += make_passages(article.paragraphs, embedder.count_tokens, policy)
    return list(dict.fromkeys(texts))


def bare_rate(embedder, texts: list[str]):
    """Passages/s of the model alone on these texts, and the vectors."""
    start = time.perf_counter()
    vectors = embedder.encode(texts)
    return len(texts) / (time.perf_counter() - start), vectors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=300, help="articles to ingest")
    parser.add_argument("--backends", default="onnx,onnx-int8,torch")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the backend's")
    args = parser.parse_args()
    if not args.corpus.exists():
        print(f"{args.corpus} not found; this benchmark needs ../shared/ (skipped)")
        return 0

    from newsarchive.archive import Archive
    from newsarchive.index.embedders import make_embedder
    from newsarchive.index.embedders.autotune import describe_cpu, pick

    WORK.mkdir(parents=True, exist_ok=True)  # absent on a fresh clone
    records = load_records(args.corpus, args.limit)
    print(f"corpus {args.corpus.name}: {len(records)} articles; CPU: {describe_cpu()}")
    backends = args.backends.split(",")
    embedders, load_s = {}, {}
    for backend in backends:
        started = time.perf_counter()
        embedders[backend] = make_embedder(
            backend, cache_dir=WORK / "models", batch_size=args.batch_size
        )
        embedders[backend].load()
        load_s[backend] = time.perf_counter() - started
    texts = passage_texts(records, embedders[backends[0]])
    for embedder in embedders.values():
        embedder.encode(texts[:8])  # warm-up
    # Alternating: encode all, ingest all (reversed order), encode all again (reversed), so
    # drift in the machine's load falls on every backend alike.
    vectors, before, after, ingest, cpu = {}, {}, {}, {}, {}
    for backend in backends:
        before[backend], vectors[backend] = bare_rate(embedders[backend], texts)
    for backend in reversed(backends):
        folder = Path(tempfile.mkdtemp(prefix="ingest-", dir=WORK))
        try:
            with Archive(folder, embedder=embedders[backend]) as archive:
                start, start_cpu = time.perf_counter(), time.process_time()
                report = archive.ingest_articles([dict(r) for r in records])
                ingest_s = time.perf_counter() - start
                cpu[backend] = time.process_time() - start_cpu
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        ingest[backend] = (report.passages_embedded / ingest_s, ingest_s)
    for backend in reversed(backends):
        after[backend], _ = bare_rate(embedders[backend], texts)
    rows = []
    for backend in backends:
        encode_rate = (before[backend] + after[backend]) / 2
        rate, ingest_s = ingest[backend]
        rows.append(
            (
                backend,
                embedders[backend].batch_size,
                len(texts),
                before[backend],
                after[backend],
                rate,
                rate / encode_rate,
                load_s[backend],
            )
        )
        print(
            f"{backend:>10}: batch {embedders[backend].batch_size}, {len(texts)} passages; "
            f"encode {before[backend]:.1f} / {after[backend]:.1f} passages/s (before/after); "
            f"ingest {rate:.1f} passages/s ({ingest_s:.1f} s wall, {cpu[backend]:.1f} s CPU); "
            f"ingest/encode = {rate / encode_rate:.3f}; load {load_s[backend]:.1f} s",
            flush=True,
        )
    rates = {backend: ingest[backend][0] for backend in backends}
    print(f"\nthe default for a new archive by this run's ingest rates: {pick(rates, None)}")
    print()
    torch_rate = next(((r[3] + r[4]) / 2 for r in rows if r[0] == "torch"), None)
    print(
        "| backend | batch | passages | encode/s (before, after) | ingest/s | ingest ÷ encode "
        "| ingest ÷ torch encode |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for backend, batch, n, before, after, ingest, ratio, _ in rows:
        versus = f"{ingest / torch_rate:.2f}" if torch_rate else "-"
        print(
            f"| {backend} | {batch} | {n} | {before:.1f}, {after:.1f} | {ingest:.1f} | {ratio:.3f} "
            f"| {versus} |"
        )
    if "torch" in vectors:
        import numpy as np

        base = vectors["torch"]
        for backend, other in vectors.items():
            if backend == "torch":
                continue
            cos = (base * other).sum(axis=1)
            print(
                f"cosine torch vs {backend} over {len(cos)} passages: mean {cos.mean():.6f}, "
                f"min {cos.min():.6f}; max |difference| {np.abs(base - other).max():.2e}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
