"""Keyword retrieval side by side: FTS5 (archive/store/fts.py) against the tantivy index of
large archives (index/keywords/), for latency at a million passages and quality on the dev sets.

    # bench/serving.py's synthetic archive, with `topics` metadata and normalised dates
    .venv/bin/python bench/keyword_lab.py build --size 1000000 --work bench/.work
    # latency (wall and this thread's CPU time), and agreement with exact FTS5 BM25
    .venv/bin/python bench/keyword_lab.py latency --folder bench/.work/serving-1000000 --check 50
    # quality: keyword and hybrid MRR/R/nDCG@10 on bench/eval.py's archives, with a paired test
    .venv/bin/python bench/keyword_lab.py quality --work bench/.work

Both engines see the same terms: the tantivy index is fed FTS5's own tokens (analysis.py).
Queries are BBC headlines, OR-ed as `fts_terms` does; a "phrase" variant quotes the first two
consecutive content words of each. Engines alternate query by query, so load on a shared
machine hits both alike; thread CPU time is reported beside wall time because wall time on a
loaded machine mostly measures waiting for a core.

- fts5: what `Archive` runs today (BM25 over the OR-ed terms; past 200,000 passages terms in
  more than 2% of them are dropped, the frequency cutoff).
- fts5-exact: the same without the cutoff: the ranking BM25 defines, used for agreement.
- tantivy: `KeywordView.search` (block-max WAND, Lucene's IDF, one-byte length norms).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

FILTERS = {
    "none": {},
    "date 1987-04": {"since": "1987-04-01", "until": "1987-04-30"},
    "date 1987-10": {"since": "1987-10-01", "until": "1987-10-31"},
    "source BBC": {"sources": ["BBC News"]},
    "where topics=t3": {"where": {"topics": ["t3"]}},
}


def cpu_line() -> str:
    """The CPU model and the vector extensions that matter for these figures."""
    model, flags = platform.processor() or "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    have = [f for f in ("avx2", "avx512f", "avx512_vnni") if f in flags]
    return f"{model}, {os.cpu_count()} CPUs, {'/'.join(have) or 'no AVX2'}"


def load_line() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def headlines(n: int) -> list[str]:
    lines = (SHARED / "eval" / "bbc_headlines.jsonl").read_text().splitlines()
    return [json.loads(line)["query"] for line in lines][:n]


def phrase_queries(queries: list[str]) -> list[str]:
    """Each headline with its first two consecutive non-stop words quoted as a phrase."""
    from newsarchive.index.keywords.analysis import STOPWORDS

    out = []
    for q in queries:
        words = q.split()
        for i in range(len(words) - 1):
            a, b = words[i].strip(".,:;'\"?!"), words[i + 1].strip(".,:;'\"?!")
            if a and b and a.lower() not in STOPWORDS and b.lower() not in STOPWORDS:
                out.append(" ".join(words[:i] + [f'"{a} {b}"'] + words[i + 2 :]))
                break
        else:
            out.append(q)
    return out


def keyword_filter(flt: dict):
    from newsarchive.archive.views import date_bounds
    from newsarchive.index.keywords import KeywordFilter

    return KeywordFilter(
        since=date_bounds(flt.get("since"), flt.get("until"))[0],
        until=date_bounds(flt.get("since"), flt.get("until"))[1],
        sources=list(flt.get("sources", [])),
        where=dict(flt.get("where", {})),
    )


# -- engines ----------------------------------------------------------------------------------
class Fts5:
    def __init__(self, store, *, cutoff: bool = True) -> None:
        from newsarchive.archive.store.fts import KeywordIndex

        self.name = "fts5" if cutoff else "fts5-exact"
        self.engine = KeywordIndex(store)
        if not cutoff:
            self.engine.common.MIN_PASSAGES = 10**12

    def search(self, query: str, k: int, flt: dict) -> list[tuple[int, float]]:
        from newsarchive.archive.search.filters import Filters

        return self.engine.search(query, Filters(**flt), k)


class Tantivy:
    name = "tantivy"

    def __init__(self, view) -> None:
        self.view = view

    def search(self, query: str, k: int, flt: dict) -> list[tuple[int, float]]:
        found = self.view.search(query, keyword_filter(flt) if flt else None, k)
        if found is None:
            raise SystemExit(f"tantivy fell back to FTS5 on {query!r} {flt}: {self.view.error}")
        return found


def tantivy_view(folder: Path, store):
    """The archive's keyword index, built (and timed) when missing."""
    from newsarchive.archive.store.derived import DerivedSource
    from newsarchive.index.keywords import KeywordView

    view = KeywordView(folder / "keywords", DerivedSource(store), threshold=0)
    if not view.active or view.audit() is not None:  # none yet, or of another lineage
        started, cpu = time.perf_counter(), time.process_time()
        view.rebuild()
        print(f"tantivy index built in {time.perf_counter() - started:.0f} s wall, "
              f"{time.process_time() - cpu:.0f} s process CPU; {load_line()}", flush=True)  # fmt: skip
    view.current()
    print("tantivy index:", view.stats(), flush=True)
    return view


def percentile_pair(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


# -- commands ---------------------------------------------------------------------------------
def cmd_latency(args) -> int:
    from newsarchive.archive.store import Store

    folder = Path(args.folder)
    store = Store(folder / "archive.db")
    print(f"{cpu_line()}; {load_line()}", flush=True)
    engines = {"fts5": Fts5(store), "tantivy": Tantivy(tantivy_view(folder, store))}
    engines = {k: v for k, v in engines.items() if k in args.engines.split(",")}
    queries = headlines(args.queries)
    sets = [("OR", queries)] + ([] if args.no_phrases else [("phrase", phrase_queries(queries))])
    rows = []
    print("\n| queries | filter | engine | wall p50 ms | wall p95 ms | CPU p50 ms | CPU p95 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, qs in sets:
        for fname, flt in FILTERS.items():
            if (label == "phrase" and fname != "none") or fname not in args.filters.split(","):
                continue
            for q in qs[:5]:  # warm-up
                for engine in engines.values():
                    engine.search(q, args.k, flt)
            wall: dict[str, list[float]] = {name: [] for name in engines}
            cpu: dict[str, list[float]] = {name: [] for name in engines}
            for q in qs:  # alternate engines query by query
                for name, engine in engines.items():
                    start, start_cpu = time.perf_counter(), time.thread_time()
                    engine.search(q, args.k, flt)
                    wall[name].append((time.perf_counter() - start) * 1000)
                    cpu[name].append((time.thread_time() - start_cpu) * 1000)
            for name in engines:
                rows.append((label, fname, name, *percentile_pair(wall[name]),
                             *percentile_pair(cpu[name])))  # fmt: skip
                print("| {} | {} | {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} |".format(*rows[-1]),
                      flush=True)  # fmt: skip
    print(f"\n{load_line()}")
    if args.check:
        check_agreement(engines, store, queries[: args.check], args.k)
    store.close()
    return 0


def check_agreement(engines: dict, store, queries: list[str], k: int) -> None:
    """Each engine's top-10 and top-k against exact BM25 (FTS5 without the cutoff)."""
    exact = Fts5(store, cutoff=False)
    print(f"\nagreement with fts5-exact, {len(queries)} queries, top {k}:\n")
    print("| filter | engine | identical top-k | overlap@10 | overlap@k |")
    print("| --- | --- | --- | --- | --- |")
    for fname, flt in FILTERS.items():
        tally = {name: [0, 0.0, 0.0] for name in engines}
        for q in queries:
            truth = [pid for pid, _ in exact.search(q, k, flt)]
            for name, engine in engines.items():
                got = [pid for pid, _ in engine.search(q, k, flt)]
                tally[name][0] += got == truth
                tally[name][1] += len(set(got[:10]) & set(truth[:10])) / max(1, min(10, len(truth)))
                tally[name][2] += len(set(got) & set(truth)) / max(1, len(truth))
        n = len(queries)
        for name, (same, o10, ok) in tally.items():
            print(f"| {fname} | {name} | {same}/{n} | {o10 / n:.3f} | {ok / n:.3f} |", flush=True)


def reciprocal_ranks(queries, runs) -> np.ndarray:
    out = []
    for q in queries:
        relevant = {str(d) for d in q["relevant_ids"]}
        ranked = runs[str(q["qid"])][:10]
        out.append(next((1 / (i + 1) for i, a in enumerate(ranked) if a in relevant), 0.0))
    return np.array(out)


def paired_p(a: np.ndarray, b: np.ndarray, rounds: int = 20_000) -> float:
    """Two-sided sign-flip permutation test on per-query differences (seeded)."""
    diff = a - b
    observed = abs(diff.mean())
    if not diff.any():
        return 1.0
    signs = np.random.default_rng(0).choice([-1.0, 1.0], size=(rounds, len(diff)))
    return float(
        ((np.abs((signs * diff).mean(axis=1)) >= observed - 1e-12).sum() + 1) / (rounds + 1)
    )


def cmd_quality(args) -> int:
    sys.path.insert(0, str(ROOT / "bench"))
    from eval import SETS, article_runs, score

    from newsarchive.archive import Archive
    from newsarchive.archive.evaluate import LOW_OVERLAP, load_queries
    from newsarchive.archive.search.fusion import HYBRID_WEIGHTS, RRF_K, reciprocal_rank_fusion

    print(f"{cpu_line()}; {load_line()}")
    print(
        "\n| set | engine | mode | MRR@10 | R@10 | nDCG@10 | low MRR@10 | low R@10 | low nDCG@10 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    tests = []
    for name in args.sets.split(","):
        folder = Path(args.work) / name
        if not (folder / "archive.db").exists():
            print(f"{folder}: no archive (run bench/eval.py --work {args.work} first)")
            continue
        archive = Archive(folder)
        queries = load_queries(SHARED / SETS[name][1])
        low = [q for q in queries if q.get("title_body_overlap", 1.0) < LOW_OVERLAP]
        searcher = archive.searcher()
        engines = {"fts5": Fts5(archive.store), "tantivy": Tantivy(tantivy_view(folder, archive.store))}  # fmt: skip
        semantic = {
            str(q["qid"]): [p for p, _ in searcher.semantic(q["query"], None, 500)] for q in queries
        }
        rr: dict[tuple[str, str], np.ndarray] = {}
        for ename, engine in engines.items():
            keyword = {str(q["qid"]): [p for p, _ in engine.search(q["query"], 500, {})] for q in queries}  # fmt: skip
            modes = {
                "keyword": lambda qid, kw=keyword: [(p, 0.0) for p in kw[qid]],
                "hybrid": lambda qid, kw=keyword, sem=semantic: reciprocal_rank_fusion(
                    [sem[qid], kw[qid]], RRF_K, HYBRID_WEIGHTS
                ),
            }
            for mode, ranked_for in modes.items():
                runs = article_runs(archive, queries, ranked_for)
                full, part = score(queries, runs)
                rr[(ename, mode)] = reciprocal_ranks(queries, runs)
                rr[(ename, mode + " low")] = reciprocal_ranks(low, runs)
                print(f"| {name} | {ename} | {mode} | {full['mrr']:.3f} | {full['recall']:.3f} | "
                      f"{full['ndcg']:.3f} | {part['mrr']:.3f} | {part['recall']:.3f} | "
                      f"{part['ndcg']:.3f} |", flush=True)  # fmt: skip
        for mode in ("keyword", "hybrid", "keyword low", "hybrid low"):
            a, b = rr[("tantivy", mode)], rr[("fts5", mode)]
            tests.append((name, mode, len(a), a.mean() - b.mean(), paired_p(a, b)))
        archive.close()
    print("\npaired sign-flip test on per-query RR@10, tantivy - fts5:\n")
    print("| set | mode | queries | MRR difference | p (two-sided) |")
    print("| --- | --- | --- | --- | --- |")
    for name, mode, n, delta, p in tests:
        print(f"| {name} | {mode} | {n} | {delta:+.4f} | {p:.3f} |")
    return 0


def cmd_add_metadata(args) -> int:
    """Give the synthetic archive's articles `topics` metadata, for `where` filters, and
    normalise its dates as ingest does (bench/serving.py stores the corpora's raw dates)."""
    conn = sqlite3.connect(args.db)
    day = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
    with conn:
        conn.execute(
            "UPDATE articles SET metadata = json_object('topics', "
            "json_array('t' || (rowid % 20), 'u' || (rowid % 3)))"
        )
        conn.execute(
            f"UPDATE articles SET date = date || 'Z' "
            f"WHERE date GLOB '{day}T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]'"
        )
        conn.execute(f"UPDATE articles SET date = date || 'T00:00:00Z' WHERE date GLOB '{day}'")
    conn.close()
    return 0


def cmd_build(args) -> int:
    """bench/serving.py's synthetic archive of --size passages under --work, with metadata."""
    sys.path.insert(0, str(ROOT / "bench"))
    import query
    import serving

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    query.WORK = serving.WORK = work
    seed = query.seed_archive(150)
    base = np.vstack([vector for _, vector in seed.store.iter_vectors()])
    folder = serving.build(args.size, base, serving.paragraphs(), seed.embedder)
    seed.close()
    args.db = str(folder / "archive.db")
    return cmd_add_metadata(args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    lat = sub.add_parser("latency", help="latency and agreement on a (synthetic) archive")
    lat.add_argument("--folder", required=True, help="an archive folder (bench/serving.py's)")
    lat.add_argument("--engines", default="fts5,tantivy")
    lat.add_argument("--queries", type=int, default=200)
    lat.add_argument("--k", type=int, default=500, help="candidates per query (CANDIDATE_DEPTH)")
    lat.add_argument("--check", type=int, default=0, help="agreement with exact FTS5 on N queries")
    lat.add_argument("--filters", default=",".join(FILTERS), help="which filter variants")
    lat.add_argument("--no-phrases", action="store_true")
    qual = sub.add_parser("quality", help="dev-set quality on bench/eval.py's archives")
    qual.add_argument(
        "--work", default=str(ROOT / "bench" / ".work"), help="bench/eval.py's --work"
    )
    qual.add_argument("--sets", default="bbc,reuters")
    meta = sub.add_parser("add-metadata", help="topics metadata and ISO dates on an archive.db")
    meta.add_argument("--db", required=True)
    build = sub.add_parser("build", help="a synthetic archive (bench/serving.py) with metadata")
    build.add_argument("--size", type=int, default=1_000_000)
    build.add_argument("--work", default=str(ROOT / "bench" / ".work"))
    args = parser.parse_args()
    if not (SHARED / "eval" / "bbc_headlines.jsonl").exists():
        print(f"{SHARED} not found; this benchmark needs ../shared/ (skipped)")
        return 0
    commands = {
        "latency": cmd_latency,
        "quality": cmd_quality,
        "add-metadata": cmd_add_metadata,
        "build": cmd_build,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
