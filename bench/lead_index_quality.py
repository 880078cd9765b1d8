"""The leads' keyword list from tantivy against FTS5 on the dev sets: the default hybrid's
quality with each engine, paired, with the switch forced on small archives.

    .venv/bin/python bench/lead_index_quality.py --work bench/.work   # bbc and reuters

The dev-set archives (bench/eval.py's, bodies only, under --work) are far below the size at
which the leads' tantivy index switches on, so it is built here on purpose (the same index a
large archive gets), and the default hybrid (`fusion=score`) is run with the leads' keyword
list from FTS5 (the small-archive path) and from tantivy, first with the passages' keyword
list from FTS5 (the lead engine alone changes), then with the passages' from tantivy too (what
an archive past the switch runs). Each pair: MRR/nDCG/R@10 and the paired difference with its
95% bootstrap interval and randomisation p (archive/evaluate.py's `compare`), on every query
and on the low-overlap subset. Writes the indexes into the archive folders (`keywords/`,
`leads/`); the next write of a small archive keeps them (removing the folders restores FTS5).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from keyword_lab import SHARED, cpu_line, load_line  # noqa: E402

SETS = {"bbc": "eval/bbc_headlines.jsonl", "reuters": "eval/reuters21578_headlines.jsonl"}


def row(name: str, subset: str, label: str, pair: list[dict]) -> None:
    from newsarchive.archive.evaluate import compare

    means = {
        m: [sum(q[m] for q in r["per_query"]) / len(r["per_query"]) for r in pair]
        for m in ("mrr", "ndcg", "recall")
    }
    diffs = {c["metric"]: c for c in compare(pair[0], pair[1])}
    cells = []
    for metric in ("mrr", "ndcg"):
        c = diffs[metric]
        low, high = c["ci95"]
        cells.append(f"{c['difference']:+.4f} [{low:+.4f}, {high:+.4f}] p={c['p_value']:.3f}")
    print(f"| {name} | {subset} ({len(pair[0]['per_query'])}) | {label} "
          f"| {means['mrr'][0]:.3f} → {means['mrr'][1]:.3f} "
          f"| {means['ndcg'][0]:.3f} → {means['ndcg'][1]:.3f} "
          f"| {means['recall'][0]:.3f} → {means['recall'][1]:.3f} | {cells[0]} | {cells[1]} |",
          flush=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="bbc,reuters")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".work")
    args = parser.parse_args()
    if not (SHARED / "eval").exists():
        print(f"{SHARED} not found; this benchmark needs ../shared/ (skipped)")
        return 0
    from newsarchive.archive import Archive
    from newsarchive.archive.evaluate import LOW_OVERLAP, load_queries

    print(f"{cpu_line()}; {load_line()}\n")
    print("| set | queries | passages' engine; leads FTS5 → tantivy | MRR@10 | nDCG@10 | R@10 "
          "| Δ MRR [95% CI] p | Δ nDCG [95% CI] p |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.sets.split(","):
        folder = args.work / name
        if not (folder / "archive.db").exists():
            print(f"{folder}: no archive (run bench/eval.py --work {args.work} first)")
            continue
        queries = load_queries(SHARED / SETS[name])
        low = {str(q["qid"]) for q in queries if q.get("title_body_overlap", 1.0) < LOW_OVERLAP}
        with Archive(folder) as archive:
            for path in (archive.keywords.folder, archive.lead_keywords.folder):
                shutil.rmtree(path, ignore_errors=True)  # start from FTS5 for both lists
            for passages in ("fts5", "tantivy"):
                if passages == "tantivy":
                    archive.keywords.rebuild()
                shutil.rmtree(archive.lead_keywords.folder, ignore_errors=True)
                runs = [archive.evaluate(queries, mode="hybrid", per_query=True)]
                archive.lead_keywords.rebuild()
                runs.append(archive.evaluate(queries, mode="hybrid", per_query=True))
                for subset, keep in (("all", None), ("overlap < 0.5", low)):
                    pair = [
                        {
                            **r,
                            "per_query": [
                                q for q in r["per_query"] if keep is None or str(q["qid"]) in keep
                            ],
                        }  # fmt: skip
                        for r in runs
                    ]
                    row(name, subset, passages, pair)
    print(f"\n{load_line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
