"""Whole hybrid queries at 1M with the wiring patch applied .

today:      Searcher(store, FTS5, ...)                      sequential, SQLite grouping
tantivy:    Searcher(MappedCatalog, tantivy-or-FTS5, ...)   sequential
wired:      archive.searcher()  tantivy + passage map + vector search overlapped on a pool
"""

# ruff: noqa: B023 (each lambda is called at once, inside its loop turn)

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))
from keyword_lab import SHARED, cpu_line, load_line

from newsarchive.archive import Archive
from newsarchive.archive.search.request import SearchRequest
from newsarchive.archive.search.searcher import Searcher

folder = Path(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
archive = Archive(folder)
print(cpu_line(), load_line(), flush=True)
t = time.process_time()
w = time.perf_counter()
wired = archive.searcher()
print(
    f"warm-up (model, FAISS, passage map, keyword view): {time.perf_counter() - w:.1f} s wall, {time.process_time() - t:.1f} s CPU; keywords {archive.keywords.stats()}",
    flush=True,
)
enc, vs = archive.embedder.encode_query, archive.vectors.search
paths = {
    "today (FTS5, SQLite grouping, sequential)": Searcher(
        archive.store, archive.keyword, vs, enc, matches=archive.explore
    ),
    "tantivy + passage map, sequential": Searcher(
        archive.catalog, archive.keyword_search, vs, enc, matches=archive.explore
    ),
    "tantivy + passage map, overlapped (wired)": wired,
}
qs = [
    json.loads(line)["query"]
    for line in (SHARED / "eval" / "bbc_headlines.jsonl").read_text().splitlines()
][:n]
for label, filters in [
    ("none", {}),
    ("date 1987-04", {"since": "1987-04-01", "until": "1987-04-30"}),
]:
    for q in qs[:5]:
        for s in paths.values():
            s.search(SearchRequest.make(q, **filters))
    wall = {k: [] for k in paths}
    cpu = {k: [] for k in paths}
    differ = 0
    for q in qs:
        pages = {}
        for name, s in paths.items():
            a, b = time.perf_counter(), time.process_time()
            r = s.search(SearchRequest.make(q, **filters))
            wall[name].append((time.perf_counter() - a) * 1000)
            cpu[name].append((time.process_time() - b) * 1000)
            pages[name] = [h.passage_id for h in r.hits]
        names = list(paths)
        differ += pages[names[1]] != pages[names[2]]
    print(
        f"\n### filter {label}: {len(qs)} queries; pages differing between sequential and overlapped tantivy paths: {differ}; {load_line()}\n"
    )
    print("| path | wall p50 ms | wall p95 ms | process CPU p50 ms | process CPU p95 ms |")
    print("| --- | --- | --- | --- | --- |")
    for name in paths:
        print(
            f"| {name} | {np.percentile(wall[name], 50):.1f} | {np.percentile(wall[name], 95):.1f} | {np.percentile(cpu[name], 50):.1f} | {np.percentile(cpu[name], 95):.1f} |",
            flush=True,
        )
archive.close()
