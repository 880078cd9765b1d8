"""The exact `total` (matches.count) at 1M passages: the plain SQL (one FTS5 match per term,
intersected: store/explore.py's reference_count) against the rarest-first part (a)
(store/every_word.py, with the facade's passage map and with SQL mapping), alternated query by
query in one run, every total compared; then the whole search with either count, alternated.

    bench/count_1m.py ARCHIVE N          # N BBC headlines (from the 100th), their phrase
                                         # variants, filtered variants and common-word queries
    bench/count_1m.py ARCHIVE 0 --costs  # the per-unit costs behind every_word.COSTS_US

It opens ARCHIVE read-only in effect (searches only); it needs ../shared/ for the queries.
"""

# ruff: noqa: B023 (each lambda is called at once, inside its loop turn)

import json
import os
import random
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))
from keyword_lab import SHARED, cpu_line, load_line, phrase_queries

from newsarchive.archive import Archive
from newsarchive.archive.search.matching import MatchScope
from newsarchive.archive.search.request import SearchRequest
from newsarchive.archive.store import every_word
from newsarchive.archive.store.explore import ExploreStore, reference_count

COMMON = ["said year", "market said", "year oil", "said", "government said year", "oil prices"]


def timed(f):
    a, b = time.perf_counter(), time.process_time()
    out = f()
    return out, (time.perf_counter() - a) * 1000, (time.process_time() - b) * 1000


def table(title: str, rows: dict[str, tuple[list[float], list[float]]]) -> None:
    print(f"\n{title}\n")
    print(
        "| variant | wall p50 ms | wall p95 ms | CPU p50 ms | CPU p95 ms |\n| --- | --- | --- | --- | --- |"
    )
    for name, (wall, cpu) in rows.items():
        w50, w95, c50, c95 = (*np.percentile(wall, [50, 95]), *np.percentile(cpu, [50, 95]))
        print(f"| {name} | {w50:.1f} | {w95:.1f} | {c50:.1f} | {c95:.1f} |")


def costs(path: Path) -> None:
    """Per-unit costs at this archive's size (the cost model of store/every_word.py)."""
    conn = sqlite3.connect(f"file:{path / 'archive.db'}?mode=ro", uri=True)
    conn.execute("PRAGMA mmap_size=8589934592")
    random.seed(1)
    ids = [r[0] for r in conn.execute("SELECT id FROM articles WHERE rowid % 500 = 7")][:400]
    print("process CPU per unit (best of 3); survivors: 400 articles spread over the archive")
    for term in ['"said"', '"year"', '"new"', '"oil"', '"york"', '"ministri"', '"classroom"']:
        span = best(lambda: every_word.Survivors(conn, set(ids)).load_passages())
        survivors = every_word.Survivors(conn, set(ids))
        runs = json.dumps(survivors.runs())
        n = every_word.count_matches(conn, term, None)
        count = best(lambda: every_word.count_matches(conn, term, None))
        owner = best(lambda: conn.execute(every_word.OWNERS, [term]).fetchall())
        passages = survivors.passages
        rowid = best(lambda: [passages.get(r[0]) for r in conn.execute(every_word.MATCHES, [term])])
        seek = best(lambda: conn.execute(every_word.SEEK, [runs, term]).fetchall())
        print(
            f"{term}: {n} matches; us per match: count {1000 * count / n:.3f}, "
            f"owner {1000 * owner / n:.2f}, rowid {1000 * rowid / n:.2f}; "
            f"us per article: span {1000 * span / len(ids):.1f}, seek {1000 * seek / len(ids):.1f}"
        )


def best(f, times: int = 3) -> float:
    """The least process CPU time of `times` calls, in ms."""
    return min(timed(f)[2] for _ in range(times))


def main() -> int:
    path = Path(sys.argv[1])
    print(cpu_line(), load_line(), flush=True)
    if "--costs" in sys.argv:
        costs(path)
        return 0
    if not (SHARED / "eval" / "bbc_headlines.jsonl").exists():
        print(f"{SHARED} not found; this benchmark needs ../shared/ (skipped)")
        return 0
    n = int(sys.argv[2])
    lines = (SHARED / "eval" / "bbc_headlines.jsonl").read_text().splitlines()
    heads = [json.loads(line)["query"] for line in lines][100 : 100 + n]
    archive = Archive(path)
    s = archive.searcher()
    store = archive.store

    def old_count(scope: MatchScope) -> int:
        with store.reading() as conn:
            return reference_count(conn, scope)

    new_count = s.matches.count  # with the passage map (as wired by the facade)
    sql_count = ExploreStore(store).count  # the same, matches mapped to articles in SQL
    cases: list[tuple[str, str, dict]] = [("headline", q, {}) for q in heads]
    cases += [("phrase", q, {}) for q in phrase_queries(heads)]
    cases += [("since 1987-10-01", q, {"since": "1987-10-01"}) for q in heads[: max(1, n // 4)]]
    cases += [("source BBC News", q, {"source": "BBC News"}) for q in heads[: max(1, n // 4)]]
    cases += [("common words", q, {}) for q in COMMON]
    rows: dict[str, tuple[list[float], list[float]]] = {}
    slow: list[str] = []
    unequal = 0
    for i, (kind, q, options) in enumerate([cases[0], *cases]):
        scope = s.candidates(SearchRequest.make(q, **options)).scope
        order = [("old", old_count), ("new", new_count), ("new, SQL mapping", sql_count)]
        totals = {}
        for name, f in order[i % 3 :] + order[: i % 3]:
            totals[name], wall, cpu = timed(lambda: f(scope))
            if i == 0:
                continue  # warm-up
            label = f"{kind}: {name}" if kind == "common words" else name
            rows.setdefault(label, ([], []))
            rows[label][0].append(wall)
            rows[label][1].append(cpu)
            if name == "new" and (kind == "common words" or wall > 20):
                slow.append(f"{q!r} ({kind}): new {wall:.1f} ms, total {totals['new']}")
        unequal += i > 0 and not totals["old"] == totals["new"] == totals["new, SQL mapping"]
    table(
        f"matches.count, {len(cases) - len(COMMON)} queries (headlines, phrases, filtered) and "
        f"{len(COMMON)} of common words, "
        f"alternated; totals unequal: {unequal} of {len(cases)}; {load_line()}",
        rows,
    )
    print("\nnew count over 20 ms, and the common-word queries:")
    print("\n".join(slow) or "none")

    whole: dict[str, tuple[list[float], list[float]]] = {}
    for i, q in enumerate(heads[:3] + heads):
        r = SearchRequest.make(q)
        order = [("whole search, old count", old_count), ("whole search, new count", new_count)]
        for name, f in order if i % 2 else order[::-1]:
            s.matches.count = f
            _, wall, cpu = timed(lambda: s.search(r))
            if i >= 3:
                whole.setdefault(name, ([], []))
                whole[name][0].append(wall)
                whole[name][1].append(cpu)
    s.matches.count = new_count
    table(
        f"whole hybrid search, {len(heads)} BBC headlines, no filter, alternated; {load_line()}",
        whole,
    )
    archive.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
