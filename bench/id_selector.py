"""A filter inside FAISS: IDSelectorBatch (a hash set built for every query) against the bitmap
selector index/vectors/base.py now uses for wide filters; same index, same filter, same answers.

    .venv/bin/python bench/id_selector.py --folder bench/.work/serving-1000000

On bench/serving.py's synthetic archive (made by bench/keyword_lab.py build, which adds the
`topics` metadata), the allowed passages of each filter come from the store's SQL, as in a
search; queries are stored vectors of random passages. Prints this thread's CPU time per
search (wall time is reported too, but on a shared machine it mostly measures waiting).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

FILTERS = {
    "date 1987-04": {"since": "1987-04-01", "until": "1987-04-30"},
    "source BBC": {"sources": ["BBC News"]},
    "where topics=t3": {"where": {"topics": ["t3"]}},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", required=True, help="archive folder (archive.db)")
    parser.add_argument("--index", help="vectors.faiss to read (default: the folder's)")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    from keyword_lab import cpu_line, load_line

    from newsarchive.archive.search.filters import Filters
    from newsarchive.archive.store import Store
    from newsarchive.index.vectors import base, load_index

    folder = Path(args.folder)
    store = Store(folder / "archive.db")
    index, _ = load_index(Path(args.index or folder / "vectors.faiss"), 384)
    print(f"{cpu_line()}; {load_line()}; {len(index):,} vectors, kind {index.kind}")
    rng = np.random.default_rng(0)
    picks = rng.choice(index.ids(), args.queries, replace=False)
    queries = index.reconstruct(np.sort(picks))
    print(
        "\n| filter | allowed | selector | wall p50 ms | CPU p50 ms | CPU p95 ms | same answers |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, flt in FILTERS.items():
        allowed = store.allowed_passages(Filters(**flt))
        share = f"{len(allowed):,} ({len(allowed) / len(index):.0%})"
        answers: dict[str, list] = {}
        timings: dict[str, tuple[list[float], list[float]]] = {}
        for label, minimum in (("batch", 10**12), ("bitmap", base.BITMAP_MIN)):
            base.BITMAP_MIN = minimum
            index.search(queries[0], 500, allowed)  # warm-up
            wall, cpu, got = [], [], []
            for query in queries:
                start, start_cpu = time.perf_counter(), time.thread_time()
                got.append(index.search(query, 500, allowed))
                wall.append((time.perf_counter() - start) * 1000)
                cpu.append((time.thread_time() - start_cpu) * 1000)
            answers[label], timings[label] = got, (wall, cpu)
        base.BITMAP_MIN = 1_000
        same = sum(a == b for a, b in zip(answers["batch"], answers["bitmap"]))
        for label, (wall, cpu) in timings.items():
            print(f"| {name} | {share} | {label} | {np.percentile(wall, 50):.2f} | "
                  f"{np.percentile(cpu, 50):.2f} | {np.percentile(cpu, 95):.2f} | "
                  f"{same}/{len(queries)} |", flush=True)  # fmt: skip
    print(f"\n{load_line()}")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
