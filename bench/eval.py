"""Retrieval quality on the dev sets: the hybrid fusions against plain RRF, every mode, sweeps.

    python bench/eval.py                      # both dev sets and question sets, all modes
    python bench/eval.py --sets bbc --sweep   # and the RRF k / weight sweep
    python bench/eval.py --titles             # titles kept vs bodies only, on bench/sets/
    python bench/eval.py --paired onnx-int8   # fp32 against int8 on the same passages

With `--titles`, a second archive per corpus is built WITH titles (headings indexed beside the
passages), and the question sets of bench/sets/ (queries that are not headlines) run through
`Archive.evaluate` in every mode on both archives, each mode compared with a paired bootstrap.

First, per set, the three hybrid rankings through the archive's own search (grouping, copies
collapsed and resolved): plain RRF k=60 with equal weights (`hybrid:rrf60`, the baseline),
the previous default RRF k=5 with keyword weight 0.5 (`hybrid:rrf`) and the default
(`hybrid`: article-level score fusion with the lead), each with MRR@10 / nDCG@10 / R@10 and
its paired difference to plain RRF (95% bootstrap interval, randomisation p), on the full set
and its low-overlap subset (`title_body_overlap < 0.5`); then the question sets of
bench/sets/ (queries that are not headlines), on the same bodies-only archives.

Builds (once) an archive per corpus from the bodies only (titles dropped, otherwise the headline
query is trivially in the index) under bench/.work/, then prints markdown tables. Reads
../shared/; exits with a message when it is absent. Not a test: nothing here is asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SETS = {
    "bbc": ("corpora/bbc.jsonl", "eval/bbc_headlines.jsonl"),
    "reuters": ("corpora/reuters21578-6k.jsonl", "eval/reuters21578_headlines.jsonl"),
}
QUESTIONS = {
    "bbc": ROOT / "bench" / "sets" / "bbc_questions.jsonl",
    "reuters": ROOT / "bench" / "sets" / "reuters_questions.jsonl",
}
RANKINGS = ("hybrid:rrf60", "hybrid:rrf", "hybrid")
LABELS = {
    "hybrid:rrf60": "plain RRF k=60",
    "hybrid:rrf": "previous hybrid (RRF k=5, kw 0.5)",
    "hybrid": "default hybrid (score fusion + lead)",
    "keyword": "keyword",
    "semantic": "semantic",
}


def open_archive(
    name: str,
    work: Path,
    min_tokens: int | None = None,
    target_tokens: int | None = None,
    backend: str | None = None,
    titles: bool = False,
):
    from newsarchive.archive import Archive
    from newsarchive.archive.ingest.passages import PassagePolicy

    corpus, _ = SETS[name]
    # fp32 backends share archives (same vectors); int8 gets its own
    tag = f"-{backend}" if backend == "onnx-int8" else ""
    tag += "-titles" if titles else ""
    if min_tokens is None and target_tokens is None:
        archive = Archive(work / f"{name}{tag}", backend=backend)
    else:  # a chunk-size variant, in its own archive
        min_tokens = min_tokens or PassagePolicy.min_tokens
        suffix = f"-min{min_tokens}" + (f"-t{target_tokens}" if target_tokens else "")
        policy = PassagePolicy(254, min_tokens, target_tokens)  # all-MiniLM-L6-v2's window
        archive = Archive(work / f"{name}{suffix}{tag}", backend=backend, policy=policy)
    if archive.stats()["articles"] == 0:
        started = time.perf_counter()
        report = archive.ingest([SHARED / corpus], keep_titles=titles)
        print(f"ingested {name}: {report.summary()} ({time.perf_counter() - started:.0f} s)")
    return archive


def paired_archives(name: str, work: Path, backend: str):
    """The fp32 archive and a copy of it re-embedded with `backend`: the same passages, only
    the vectors differ, so a per-query difference is the backend's alone."""
    from newsarchive.archive import Archive

    base = open_archive(name, work)
    target = work / f"{name}-{backend}"
    if not (target / "archive.db").exists():
        base.backup(target)
        other = Archive(target, backend=backend)
        started = time.perf_counter()
        report = other.reindex(reembed=True)
        print(f"re-embedded {name} with {backend}: {report['reembedded']} passages "
              f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
    else:
        other = Archive(target, backend=backend)
    return base, other


def paired_report(name: str, work: Path, backend: str, queries: list[dict]) -> None:
    """Per mode and metric: fp32, `backend`, their paired difference with the 95% bootstrap
    interval and the randomisation p-value, on every query and on the low-overlap ones."""
    from newsarchive.archive.evaluate import LOW_OVERLAP, compare

    base, other = paired_archives(name, work, backend)
    low = {str(q["qid"]) for q in queries if q.get("title_body_overlap", 1.0) < LOW_OVERLAP}
    print(f"\n### {name}: {base.backend} against {other.backend} ({other.embedder.recipe}), "
          f"{len(queries)} queries, {len(low)} with overlap < {LOW_OVERLAP}\n")  # fmt: skip
    print("| mode | subset | metric | fp32 | int8 | difference | 95% CI | p |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for mode in ("semantic", "hybrid"):
        runs = [a.evaluate(queries, mode=mode, per_query=True) for a in (base, other)]
        for subset in ("all", "low-overlap"):
            keep = (lambda qid: True) if subset == "all" else (lambda qid: qid in low)
            pair = [
                {"mode": r["mode"], "per_query": [q for q in r["per_query"] if keep(q["qid"])]}
                for r in runs
            ]
            for row in compare(pair[0], pair[1]):
                metric = row["metric"]
                mean = [sum(q[metric] for q in r["per_query"]) / len(r["per_query"]) for r in pair]
                low_ci, high_ci = row["ci95"]
                print(f"| {mode} | {subset} ({row['queries']}) | {metric} | {mean[0]:.3f} "
                      f"| {mean[1]:.3f} | {row['difference']:+.4f} "
                      f"| [{low_ci:+.4f}, {high_ci:+.4f}] | {row['p_value']:.3f} |")  # fmt: skip
    base.close()
    other.close()


def rankings(archive, queries, depth: int = 500):
    """Per query: semantic and keyword passage rankings, computed once for every variant."""
    from newsarchive.archive.search.filters import Filters

    searcher = archive.searcher()
    out = {}
    for q in queries:
        semantic = [pid for pid, _ in searcher.semantic(q["query"], None, depth)]
        keyword = [pid for pid, _ in searcher.keyword(q["query"], Filters(), depth)]
        out[str(q["qid"])] = (semantic, keyword)
    return out


def article_runs(archive, queries, ranked_for, depth: int = 10):
    from newsarchive.archive.search.collapse import group_by_article

    runs = {}
    for q in queries:
        ranked = ranked_for(str(q["qid"]))
        article_of = archive.store.article_ids([pid for pid, _ in ranked])
        grouped, _ = group_by_article(ranked, article_of)
        runs[str(q["qid"])] = [article_of[pid] for pid, _ in grouped[:depth]]
    return runs


def variants(ranked: dict, sweep: bool):
    """(label, qid -> fused passage ranking) for each mode and fusion setting compared."""
    from newsarchive.archive.search.fusion import HYBRID_WEIGHTS, RRF_K, reciprocal_rank_fusion

    yield "keyword", lambda qid: [(p, 0.0) for p in ranked[qid][1]]
    yield "semantic", lambda qid: [(p, 0.0) for p in ranked[qid][0]]
    yield (
        f"hybrid:rrf (previous default: RRF k={RRF_K}, keyword weight {HYBRID_WEIGHTS[1]})",
        lambda qid: reciprocal_rank_fusion(ranked[qid], RRF_K, HYBRID_WEIGHTS),
    )
    if sweep:
        for k in (5, 10, 20, 30, 60, 100):
            for w in (0.5, 1.0, 2.0):
                yield (
                    f"RRF k={k}, keyword weight {w}",
                    lambda qid, k=k, w=w: reciprocal_rank_fusion(ranked[qid], k, [1.0, w]),
                )


def score(queries, runs) -> tuple[dict, dict]:
    from newsarchive.archive.evaluate import LOW_OVERLAP, score_runs

    low = [q for q in queries if q.get("title_body_overlap", 1.0) < LOW_OVERLAP]
    return score_runs(queries, runs, 10), score_runs(low, runs, 10)


def titles_table(name: str, work: Path, backend: str | None) -> None:
    """Titles kept vs bodies only, on the question set of `name` (queries are not headlines)."""
    off = open_archive(name, work, backend=backend)
    on = open_archive(name, work, backend=backend, titles=True)
    queries = ROOT / "bench" / "sets" / f"{name}_questions.jsonl"
    stats = on.stats()
    print(f"\n### {name}: question set {queries.name}; titles-on archive {stats['articles']} "
          f"articles, {stats['passages']} passages, heading weight {stats['heading_weight']}\n")  # fmt: skip
    print("| mode | titles | MRR@10 | nDCG@10 | R@10 | ΔMRR [95% CI] p | ΔnDCG [95% CI] p "
          "| ΔR [95% CI] p |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    from newsarchive.archive.evaluate import compare

    for mode in ("keyword", "semantic", "hybrid"):
        base = off.evaluate(queries, mode=mode, per_query=True)
        other = on.evaluate(queries, mode=mode, per_query=True)
        diffs = {d["metric"]: d for d in compare(base, other)}
        cells = " | ".join(
            f"{d['difference']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] {d['p_value']:.2f}"
            for d in (diffs["mrr"], diffs["ndcg"], diffs["recall"])
        )
        for label, r in (("off", base), ("on", other)):
            tail = cells if label == "on" else " | ".join(["", "", ""])
            print(f"| {mode} | {label} | {r['mrr']:.3f} | {r['ndcg']:.3f} | {r['recall']:.3f} "
                  f"| {tail} |")  # fmt: skip
    from newsarchive.archive.evaluate import load_queries

    print(f"\n#### {name}: hybrid rankings on the titles-on archive\n")
    print("| set | queries | ranking | MRR@10 | nDCG@10 | R@10 | Δ MRR vs plain RRF [95% CI] p "
          "| Δ nDCG [95% CI] p |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    comparison(on, f"{name} questions, titles on", "all", load_queries(queries), RANKINGS)
    off.close()
    on.close()


def comparison(archive, name: str, subset: str, queries, rankings) -> None:
    """Rows of the fusion table: each ranking's figures and its difference to the first."""
    result = archive.compare(queries, list(rankings))
    diffs = {(r["mode"], r["metric"]): r for r in result["comparisons"]}

    def diff(mode: str, metric: str) -> str:
        row = diffs.get((mode, metric))
        if row is None:
            return "—"
        low, high = row["ci95"]
        return f"{row['difference']:+.3f} [{low:+.3f}, {high:+.3f}] p={row['p_value']:.4f}"

    for run in result["modes"]:
        mode = run["mode"]
        print(f"| {name} | {subset} ({run['queries']}) | {LABELS.get(mode, mode)} "
              f"| {run['mrr']:.3f} | {run['ndcg']:.3f} | {run['recall']:.3f} "
              f"| {diff(mode, 'mrr')} | {diff(mode, 'ndcg')} |", flush=True)  # fmt: skip


def fusion_table(archive, name: str, queries, rankings, questions: Path | None) -> None:
    from newsarchive.archive.evaluate import LOW_OVERLAP, load_queries

    print(f"\n#### {name}: hybrid rankings against plain RRF (`bench/eval.py --sets {name}`)\n")
    print("| set | queries | ranking | MRR@10 | nDCG@10 | R@10 | Δ MRR vs plain RRF [95% CI] p "
          "| Δ nDCG [95% CI] p |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    low = [q for q in queries if q.get("title_body_overlap", 1.0) < LOW_OVERLAP]
    comparison(archive, f"{name} headlines", "all", queries, rankings)
    comparison(archive, f"{name} headlines", "overlap < 0.5", low, rankings)
    if questions is not None and questions.exists():
        comparison(archive, f"{name} questions", "all", load_queries(questions), rankings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="bbc,reuters")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".work")
    parser.add_argument("--sweep", action="store_true", help="also sweep RRF k and weights")
    parser.add_argument(
        "--min-tokens", type=int, help="passage merge threshold to build and test (chunk size)"
    )
    parser.add_argument("--target-tokens", type=int, help="pack paragraphs up to this size")
    parser.add_argument("--backend", help="onnx, onnx-int8 or torch (default: the archive's)")
    parser.add_argument(
        "--rankings",
        default=",".join(RANKINGS),
        help="compared through the archive's search, each against the first",
    )
    parser.add_argument("--no-questions", action="store_true", help="skip bench/sets/")
    parser.add_argument(
        "--fusion-only", action="store_true", help="only the fusion table, not every mode"
    )
    parser.add_argument(
        "--titles",
        action="store_true",
        help="titles kept vs bodies only, on the question sets of bench/sets/",
    )
    parser.add_argument(
        "--paired",
        metavar="BACKEND",
        help="compare the fp32 archive with a copy re-embedded by BACKEND (paired tests)",
    )
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"{SHARED} not found: the dev sets are not on this machine; nothing to do.")
        return 0
    from newsarchive.archive.evaluate import load_queries

    if args.titles:
        for name in args.sets.split(","):
            titles_table(name, args.work, args.backend)
        return 0
    for name in args.sets.split(","):
        if args.paired:
            paired_report(name, args.work, args.paired, load_queries(SHARED / SETS[name][1]))
            continue
        archive = open_archive(name, args.work, args.min_tokens, args.target_tokens, args.backend)
        queries = load_queries(SHARED / SETS[name][1])
        n_low = sum(q.get("title_body_overlap", 1.0) < 0.5 for q in queries)
        if archive.leads.count() < archive.stats()["articles"]:
            print(f"{name}: filling article leads: {archive.reindex()}")
        questions = None if args.no_questions else QUESTIONS.get(name)
        fusion_table(archive, name, queries, args.rankings.split(","), questions)
        if args.fusion_only:
            archive.close()
            continue
        started = time.perf_counter()
        ranked = rankings(archive, queries)
        per_query_ms = (time.perf_counter() - started) * 1000 / len(queries)
        stats = archive.stats()
        print(f"\n### {name}: {stats['articles']} articles, {stats['passages']} passages, "
              f"{len(queries)} queries ({n_low} with overlap < 0.5); "
              f"{per_query_ms:.1f} ms/query for both retrievals\n")  # fmt: skip
        print(
            "| mode | MRR@10 | Recall@10 | nDCG@10 | low-overlap MRR@10 | low R@10 | low nDCG@10 |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")

        for label, ranked_for in variants(ranked, args.sweep):
            full, low = score(queries, article_runs(archive, queries, ranked_for))
            print(f"| {label} | {full['mrr']:.3f} | {full['recall']:.3f} | {full['ndcg']:.3f} "
                  f"| {low['mrr']:.3f} | {low['recall']:.3f} | {low['ndcg']:.3f} |")  # fmt: skip
        archive.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
