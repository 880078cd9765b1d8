"""Exploring at scale: a timeline plus source facets for one-word queries, and browse pages, on
the full Reuters corpus and on the synthetic 1M-passage archive of `bench/serving.py`.

    .venv/bin/python bench/explore.py                          # both archives
    .venv/bin/python bench/explore.py --reuters DIR --synthetic DIR --reps 5

The Reuters archive (21,578 articles) is built once under bench/.work/explore-reuters with the
`hash` backend: the same articles, passages, FTS5 index and metadata as with the model, without
hours of embedding on a CPU, so the matching set, its counts and the SQL aggregation are what
the model would give; only the ranking part of a search (the query's embedding and the vector
search) differs. The synthetic archive is the one `bench/serving.py` builds (real texts, four
passages per article, synthetic vectors, the onnx model for queries); it is built if missing.

Timed in-process on a warm archive (model and index loaded, as in `serve`), p50 and p95 of the
wall clock and p50 of this process's CPU time (what the wall clock shows on an idle machine for
single-threaded work), over every one-word query times `--reps`:

* `timeline + facets`: `archive.search(q, timeline="auto", facets=["source"])` in hybrid mode
  (ranking, the matching set, its timeline with each period's share, the source facet and a
  page of hits), and the same in keyword mode;
* `timeline` and `facets` alone: the `/timeline` and `/facets` calls (no ranking: the matching
  set needs no model);
* browse pages: the first page of `archive.browse()` (newest first, 20 articles), one of a
  single source, one of a single month, and a page 50 pages deep by cursor.

A browse's total and a timeline's per-day `all` depend only on the archive and the filters, so
they are kept per database generation (store/explore.py); the rows marked "not yet kept" time
the first call after a write, when they are counted again.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
WORK = ROOT / "bench" / ".work"
sys.path.insert(0, str(ROOT / "bench"))

WORDS = (
    "oil gold wheat coffee sugar dollar bank trade tax shares "
    "copper tin rubber cocoa loan debt yen opec strike merger"
).split()


def cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def reuters_archive(folder: Path):
    """The full Reuters corpus on the hash backend, built once."""
    from newsarchive.archive import Archive

    archive = Archive(folder, backend="hash")
    if archive.stats()["articles"] == 0:
        print(f"building {folder} (hash backend) ...", flush=True)
        started = time.perf_counter()
        report = archive.ingest([SHARED / "corpora" / "reuters21578.jsonl"])
        print(f"  {report.summary()} ({time.perf_counter() - started:.0f} s)", flush=True)
    return archive


def synthetic_archive(folder: Path):
    """bench/serving.py's 1M-passage archive (built by it when missing)."""
    from newsarchive.archive import Archive

    if not (folder / "archive.db").exists():
        import numpy as np
        from query import seed_archive
        from serving import build, paragraphs

        seed = seed_archive(150)
        base = np.vstack([vector for _, vector in seed.store.iter_vectors()])
        folder = build(1_000_000, base, paragraphs(), seed.embedder)
        seed.close()
    return Archive(folder)


def timed(call: Callable[[], object], reps: int) -> list[tuple[float, float]]:
    """(wall seconds, CPU seconds of this process) per call, after one warm-up call."""
    call()  # warm-up: first touches of the pages are not latency
    seconds = []
    for _ in range(reps):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        seconds.append((time.perf_counter() - wall, time.process_time() - cpu))
    return seconds


def row(name: str, seconds: list[tuple[float, float]]) -> tuple[str, float, float, float, int]:
    """p50 and p95 of wall time, p50 of CPU time: on a loaded machine the wall clock counts
    the wait for a core too, the CPU time only this process's work (all its threads)."""
    wall = sorted(w * 1000 for w, _ in seconds)
    p95 = wall[min(len(wall) - 1, int(round(0.95 * (len(wall) - 1))))]
    return (
        name,
        statistics.median(wall),
        p95,
        statistics.median(c * 1000 for _, c in seconds),
        len(wall),
    )


def measure(archive, label: str, reps: int) -> list[tuple]:
    from newsarchive.archive import SearchRequest

    archive.searcher()  # model and index loaded: a server's steady state
    stats = archive.stats()
    print(f"\n{label}: {stats['articles']:,} articles, {stats['passages']:,} passages, "
          f"index {stats['index']}, backend {stats['backend']}", flush=True)  # fmt: skip
    example = archive.search("oil", timeline="auto", facets=["source"])
    print(f"  'oil': total {example.total:,}, pageable {example.pageable:,}, timeline "
          f"{example.timeline.interval} x {len(example.timeline.buckets)}", flush=True)  # fmt: skip
    searcher = archive.searcher()

    def ranking_only(query: str) -> None:
        """What a search cost before the matching set: ranking, grouping and a page of hits."""
        found = searcher.candidates(SearchRequest.make(query))
        searcher.make_hits(found.ranked[:10], query, found.others)

    def cold(call: Callable, *args, **kwargs) -> object:
        """As the first call after a write: what is kept per generation is forgotten."""
        archive.explore.memo.entries.clear()
        return call(*args, **kwargs)

    rows = []
    for name, call in (
        ("search + timeline + source facet (hybrid)",
         lambda q: archive.search(q, timeline="auto", facets=["source"])),
        ("search + timeline + source facet (keyword)",
         lambda q: archive.search(q, timeline="auto", facets=["source"], mode="keyword")),
        ("timeline alone (/timeline)", lambda q: archive.timeline(q)),
        ("timeline alone, per-day `all` not yet kept", lambda q: cold(archive.timeline, q)),
        ("source facet alone (/facets)", lambda q: archive.facets(q, ["source"])),
        ("plain search (hybrid, with its honest total)", lambda q: archive.search(q)),
        ("the same without the total (ranking and hits only)", lambda q: ranking_only(q)),
    ):  # fmt: skip
        seconds = [s for word in WORDS for s in timed(lambda w=word, c=call: c(w), reps)]
        rows.append(row(name, seconds))
        print("  | {} | {:.1f} | {:.1f} | {:.1f} | {} |".format(*rows[-1]), flush=True)
    deep = None
    for _ in range(50):  # the cursor after 50 pages of 20
        deep = archive.browse(after=deep).next
    source = next(iter(stats["sources"]))
    month_start = (stats["first_date"] or "1987-03-01")[:7]
    for name, call in (
        ("browse: first page, newest", lambda: archive.browse()),
        ("browse: first page, oldest", lambda: archive.browse(sort="oldest")),
        (f"browse: one source ({source})", lambda: archive.browse(source=source)),
        (f"browse: one month ({month_start})",
         lambda: archive.browse(since=f"{month_start}-01", until=f"{month_start}-28")),
        ("browse: 50 pages deep by cursor", lambda: archive.browse(after=deep)),
        ("browse: first page, total not yet kept", lambda: cold(archive.browse)),
        ("browse: one source, total not yet kept", lambda: cold(archive.browse, source=source)),
    ):  # fmt: skip
        rows.append(row(name, timed(call, reps * len(WORDS))))
        print("  | {} | {:.1f} | {:.1f} | {:.1f} | {} |".format(*rows[-1]), flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuters", type=Path, default=WORK / "explore-reuters")
    parser.add_argument("--synthetic", type=Path, default=WORK / "serving-1000000")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", choices=("reuters", "synthetic"), default=None)
    args = parser.parse_args()
    if not (SHARED / "corpora" / "reuters21578.jsonl").exists():
        print(f"{SHARED} not found; this benchmark needs ../shared/ (skipped)")
        return 0
    print(f"{os.cpu_count()} cpus ({cpu()}); load average {os.getloadavg()[0]:.1f}; "
          f"{len(WORDS)} one-word queries x {args.reps}")  # fmt: skip
    tables = []
    if args.only in (None, "reuters"):
        with reuters_archive(args.reuters) as archive:
            rows = measure(archive, "Reuters", args.reps)
            stored = archive.stats()["articles"]
            tables.append(
                (f"Reuters: the 21,578 records, {stored:,} articles (hash backend)", rows)
            )
    if args.only in (None, "synthetic"):
        with synthetic_archive(args.synthetic) as archive:
            rows = measure(archive, "synthetic 1M", args.reps)
            tables.append(("synthetic: 1M passages, 250,000 articles (onnx for queries)", rows))
    for title, rows in tables:
        print(f"\n{title}; load average {os.getloadavg()[0]:.1f}\n")
        print("| what | p50 ms | p95 ms | CPU p50 ms | calls |")
        print("| --- | --- | --- | --- | --- |")
        for name, p50, p95, cpu_ms, n in rows:
            print(f"| {name} | {p50:.1f} | {p95:.1f} | {cpu_ms:.1f} | {n} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
