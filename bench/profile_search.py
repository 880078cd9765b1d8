"""Where a whole query's time goes, stage by stage, on an archive built by bench/serving.py.

    .venv/bin/python bench/serving.py --sizes 1000000      # builds bench/.work/serving-1000000
    .venv/bin/python bench/profile_search.py --size 1000000

Times each stage of `Searcher.search` separately on the same queries (real BBC headlines):
query encoding, the vector search and the FTS5 keyword search to the candidate depth, the
passage -> article lookup, grouping, collapsing, and building the page; then whole semantic
and hybrid searches. p50 and p95 in milliseconds, warm.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
WORK = ROOT / "bench" / ".work"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    folder = WORK / f"serving-{args.size}"
    if not (SHARED / "eval" / "bbc_headlines.jsonl").exists() or not folder.exists():
        print(f"needs ../shared/ and {folder} (run bench/serving.py first); skipped")
        return 0
    from newsarchive.archive import Archive
    from newsarchive.archive.search.collapse import collapse, group_by_article
    from newsarchive.archive.search.filters import Filters
    from newsarchive.archive.search.fusion import HYBRID_WEIGHTS, reciprocal_rank_fusion
    from newsarchive.archive.search.request import CANDIDATE_DEPTH

    archive = Archive(folder)
    searcher = archive.searcher()
    lines = (SHARED / "eval" / "bbc_headlines.jsonl").read_text().splitlines()
    queries = [json.loads(line)["query"] for line in lines][: args.queries]
    for query in queries[:5]:  # warm-up
        archive.search(query)
    times: dict[str, list[float]] = defaultdict(list)

    def timed(name, call, *args, **kwargs):
        start = time.perf_counter()
        result = call(*args, **kwargs)
        times[name].append((time.perf_counter() - start) * 1000)
        return result

    def page(query, kept, others):
        rows = archive.store.passages_with_articles([pid for pid, _ in kept[:10]])
        return [
            searcher.make_hit(rows[pid], score, query, others.get(pid, []))
            for pid, score in kept[:10]
            if pid in rows
        ]

    def clusters(grouped, owners):
        return store.clusters_of([owners[pid] for pid, _ in grouped])

    depth = CANDIDATE_DEPTH
    store = archive.store
    for query in queries:
        vector = timed("encode query", searcher.encode_query, query)
        semantic = timed("vector search", searcher.vector_search, vector, depth, None)
        keyword = timed("keyword search", searcher.keyword, query, Filters(), depth)
        fused = reciprocal_rank_fusion(
            [[pid for pid, _ in semantic], [pid for pid, _ in keyword]],
            k=searcher.rrf_k,
            weights=HYBRID_WEIGHTS,
        )
        owners = timed("passage -> article", store.article_ids, [pid for pid, _ in fused])
        grouped, others = timed("group", group_by_article, fused, owners)
        cluster_of = timed("clusters", clusters, grouped, owners)
        kept = timed("collapse", collapse, grouped, owners, cluster_of)
        timed("page (rows, snippets, copies)", page, query, kept, others)
        timed("whole search, semantic", archive.search, query, mode="semantic")
        timed("whole search, hybrid", archive.search, query)
    print(f"{folder.name}: {archive.stats()['passages']:,} passages, {len(queries)} queries")
    print("| stage | p50 ms | p95 ms |")
    print("| --- | --- | --- |")
    for name, values in times.items():
        print(f"| {name} | {np.percentile(values, 50):.2f} | {np.percentile(values, 95):.2f} |")
    archive.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
