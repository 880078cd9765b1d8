"""newsarchive against txtai: the same corpus, model and passages, ingested and searched in one run.

    .venv/bin/pip install "torch==2.13.0" -e ".[bench]"    # txtai
    .venv/bin/python bench/peers.py --limit 600

Both index BBC bodies only (titles removed: the queries are the headlines) split into the same
passages, with all-MiniLM-L6-v2 from the local folder (txtai through sentence-transformers,
newsarchive through its configured backend). Reported for each: ingest time, query latency
(p50/p95 of single queries, warm) and MRR@10 over articles on ../shared/eval/bbc_headlines.jsonl,
restricted to queries whose article is among the ingested ones. A passage hit counts for its
article; later passages of an article already ranked are skipped, as newsarchive's grouping does.
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

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
WORK = ROOT / "bench" / ".work"


def mrr_at_10(ranked: list[list[str]], relevant: list[set[str]]) -> float:
    total = 0.0
    for articles, wanted in zip(ranked, relevant):
        for rank, article in enumerate(articles[:10], start=1):
            if article in wanted:
                total += 1 / rank
                break
    return total / max(1, len(ranked))


def unique_articles(passage_articles: list[str]) -> list[str]:
    return list(dict.fromkeys(passage_articles))


def latency(seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=600, help="articles to ingest")
    parser.add_argument("--backends", default="onnx,onnx-int8", help="newsarchive's backends")
    args = parser.parse_args()
    corpus = SHARED / "corpora" / "bbc.jsonl"
    evalset = SHARED / "eval" / "bbc_headlines.jsonl"
    if not corpus.exists() or not evalset.exists():
        print(f"{SHARED} not found; this benchmark needs ../shared/ (skipped)")
        return 0
    try:
        from txtai import Embeddings
    except ImportError:
        print('txtai is not installed: pip install "torch==2.13.0" -e ".[bench]" (skipped)')
        return 0

    from newsarchive.archive import Archive
    from newsarchive.archive.ingest.passages import PassagePolicy, make_passages
    from newsarchive.archive.sources import article_from_record
    from newsarchive.index.embedders import make_embedder
    from newsarchive.index.embedders.model_folder import default_model_path

    records = []
    with corpus.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            record.pop("title", None)
            record.pop("paragraphs", None)
            records.append(record)
            if len(records) >= args.limit:
                break
    ingested = {r["id"] for r in records}
    queries = [json.loads(line) for line in evalset.read_text().splitlines()]
    queries = [q for q in queries if set(q["relevant_ids"]) & ingested]
    relevant = [set(q["relevant_ids"]) for q in queries]
    print(
        f"{len(records)} BBC articles (bodies), {len(queries)} headline queries, cpus={os.cpu_count()}"
    )

    model = default_model_path()
    embedders = {
        b: make_embedder(b, model, cache_dir=WORK / "models") for b in args.backends.split(",")
    }
    embedder = next(iter(embedders.values()))
    policy = PassagePolicy(max_tokens=embedder.max_tokens)
    passages: list[tuple[str, str]] = []  # (article id, text)
    for number, record in enumerate(records):
        article = article_from_record(dict(record), f"article {number + 1}")
        for text in make_passages(article.paragraphs, embedder.count_tokens, policy):
            passages.append((article.identity(), text))
    print(f"{len(passages)} passages")
    rows = []

    # -- newsarchive ----------------------------------------------------------------------
    for backend, embedder in embedders.items():
        embedder.load()  # a one-off export/quantisation is not ingest time
        folder = Path(tempfile.mkdtemp(prefix="peers-", dir=WORK))
        try:
            archive = Archive(folder, embedder=embedder)
            start = time.perf_counter()
            archive.ingest_articles([dict(r) for r in records])
            ingest_s = time.perf_counter() - start
            for mode in ("semantic", "hybrid"):
                archive.search("warm-up", mode=mode)
                ranked, seconds = [], []
                for q in queries:
                    start = time.perf_counter()
                    response = archive.search(q["query"], mode=mode, limit=10)
                    seconds.append(time.perf_counter() - start)
                    ranked.append([h.article.id for h in response.hits])
                mrr = mrr_at_10(ranked, relevant)
                rows.append((f"newsarchive ({backend}, {mode})", ingest_s, latency(seconds), mrr))
                print(rows[-1], flush=True)
            archive.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- txtai ----------------------------------------------------------------------------
    documents = [(f"{article}#{n}", text, None) for n, (article, text) in enumerate(passages)]
    for hybrid in (False, True):
        config = {"path": model, "method": "sentence-transformers", "content": False}
        if hybrid:
            config["hybrid"] = True
        embeddings = Embeddings(config)
        start = time.perf_counter()
        embeddings.index(documents)
        ingest_s = time.perf_counter() - start
        embeddings.search("warm-up", 10)
        ranked, seconds = [], []
        for q in queries:
            start = time.perf_counter()
            hits = embeddings.search(q["query"], 50)
            seconds.append(time.perf_counter() - start)
            ranked.append(unique_articles([str(uid).rsplit("#", 1)[0] for uid, _ in hits]))
        name = "txtai (sentence-transformers, " + ("hybrid)" if hybrid else "dense)")
        rows.append((name, ingest_s, latency(seconds), mrr_at_10(ranked, relevant)))
        print(rows[-1], flush=True)

    print()
    print("| system | ingest s | query latency | MRR@10 |")
    print("| --- | --- | --- | --- |")
    for name, ingest_s, lat, mrr in rows:
        print(f"| {name} | {ingest_s:.1f} | {lat} | {mrr:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
