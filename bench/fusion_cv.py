"""Cross-validated evidence for hybrid's default ranking (search/fusion.py), on this layout.

    .venv/bin/python bench/fusion_cv.py            # both dev sets, joint 5-fold CV

The constants of `score_fusion` (alpha, first_passage, lead) are chosen by joint 5-fold
cross-validation by query: per fold, the setting with the best mean of the two sets' MRR@10
on the other four folds of both sets, scored on the held-out fold; held-out scores are pooled.
Each set's held-out rankings are then compared with plain RRF (k=60, equal weights) on the
same candidate lists, query by query (`newsarchive.archive.evaluate.compare`: paired
bootstrap 95% interval, randomisation p), on the full set and its low-overlap subset, beside
the fixed default constants.

Candidate lists come from the archive's own retrievers (FAISS, FTS5, the leads' vectors and
FTS5 index), once per query; every setting then reuses them, so the grid costs only fusion.
Results are grouped by article, copies collapsed, and labels naming an exact copy resolved,
as `newsarchive eval` does. Reads the bodies-only archives of `bench/eval.py` (run it first);
exits with a message when ../shared is absent.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "bench"))

from eval import SETS  # noqa: E402

ALPHAS = (0.55, 0.6, 0.65, 0.7, 0.75)
FIRSTS = (0.0, 0.2, 0.3, 0.5)  # the first passage's weight
LEADS = (0.0, 0.2, 0.3, 0.5)  # the lead sentence's


def candidates(archive, queries):
    """Per query: both candidate lists, passage owners and the lead evidence."""
    from newsarchive.archive.search.filters import Filters
    from newsarchive.archive.search.request import CANDIDATE_DEPTH

    searcher = archive.searcher()
    out = []
    for q in queries:
        vector = searcher.encode_query(q["query"])
        semantic = searcher.vector_search(vector, CANDIDATE_DEPTH, None)
        keyword = searcher.keyword(q["query"], Filters(), CANDIDATE_DEPTH)
        owners = archive.store.article_ids(list({p for p, _ in semantic + keyword}))
        cosines, first = archive.leads.lookup(vector, list(dict.fromkeys(owners.values())))
        lead_keyword = archive.leads.keyword(q["query"], Filters())
        out.append((semantic, keyword, owners, first, cosines, lead_keyword))
    return out


def article_run(ranked, owners, clusters, copy_owner) -> list[str]:
    from newsarchive.archive.search.collapse import collapse, group_by_article

    grouped, _ = group_by_article(ranked, owners)
    kept = collapse(grouped, owners, clusters)[:10]
    ids = [owners[pid] for pid, _ in kept]
    return list(dict.fromkeys(copy_owner.get(i, i) for i in ids))


def per_query(queries, runs):
    from newsarchive.archive.evaluate import per_query_scores

    return per_query_scores(queries, runs, 10)


def as_run(name, queries, scores):
    return {
        "mode": name,
        "per_query": [{"qid": str(q["qid"]), **scores[str(q["qid"])]} for q in queries],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".work")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"{SHARED} not found: the dev sets are not on this machine; nothing to do.")
        return 0
    from newsarchive.archive import Archive
    from newsarchive.archive.evaluate import LOW_OVERLAP, compare, load_queries, resolve_copies
    from newsarchive.archive.search.fusion import (
        SCORE_WEIGHTS,
        ScoreWeights,
        reciprocal_rank_fusion,
        score_fusion,
    )
    from newsarchive.archive.search.request import CANDIDATE_DEPTH

    grid = [
        ScoreWeights(a, first, lead) for a, first, lead in itertools.product(ALPHAS, FIRSTS, LEADS)
    ]
    data = {}
    for name in SETS:
        archive = Archive(args.work / name, create=False)
        if archive.leads.count() < archive.stats()["articles"]:
            archive.reindex()
        queries = resolve_copies(load_queries(SHARED / SETS[name][1]), archive.store.copy_owners)
        lists = candidates(archive, queries)
        all_owners = {pid: a for c in lists for pid, a in c[2].items()}
        clusters = archive.store.clusters_of(list(set(all_owners.values())))
        copy_owner = archive.store.copy_owners(list(set(all_owners.values())))

        def runs_for(fuse, queries=queries, lists=lists, clusters=clusters, copies=copy_owner):
            return {
                str(q["qid"]): article_run(fuse(c), c[2], clusters, copies)
                for q, c in zip(queries, lists)
            }

        baseline = per_query(
            queries,
            runs_for(
                lambda c: reciprocal_rank_fusion([[p for p, _ in c[0]], [p for p, _ in c[1]]], 60)
            ),
        )
        fixed = per_query(
            queries,
            runs_for(
                lambda c: score_fusion(*c, weights=SCORE_WEIGHTS, keyword_depth=CANDIDATE_DEPTH)
            ),
        )
        table = []
        for weights in grid:
            scores = per_query(
                queries,
                runs_for(
                    lambda c, w=weights: score_fusion(*c, weights=w, keyword_depth=CANDIDATE_DEPTH)
                ),
            )
            table.append(scores)
        rng = np.random.default_rng(2026)
        fold_of = rng.permutation(np.arange(len(queries)) % args.folds)
        data[name] = (archive, queries, baseline, fixed, table, fold_of)
        print(f"{name}: {len(queries)} queries, {len(grid)} settings scored", flush=True)

    held = {name: {} for name in data}
    picks = []
    for fold in range(args.folds):
        means = np.zeros(len(grid))
        for _name, (_, queries, _, _, table, fold_of) in data.items():
            train = [str(q["qid"]) for q, f in zip(queries, fold_of) if f != fold]
            means += np.array([np.mean([t[qid]["mrr"] for qid in train]) for t in table])
        best = int(np.argmax(means))  # ties: the first in grid order
        picks.append(grid[best])
        for name, (_, queries, _, _, table, fold_of) in data.items():
            for q, f in zip(queries, fold_of):
                if f == fold:
                    held[name][str(q["qid"])] = table[best][str(q["qid"])]
    print("\nper-fold picks (alpha, first passage, lead):",
          "; ".join(f"{w.alpha}, {w.first_passage}, {w.lead}" for w in picks))  # fmt: skip
    print("\n| set | queries | ranking | MRR@10 | nDCG@10 | R@10 | Δ MRR vs plain RRF [95% CI] p "
          "| Δ nDCG [95% CI] p |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (archive, queries, baseline, fixed, _, _) in data.items():
        low = [q for q in queries if q.get("title_body_overlap", 1.0) < LOW_OVERLAP]
        for subset, chosen in (("all", queries), ("overlap < 0.5", low)):
            base = as_run("plain RRF k=60", chosen, baseline)
            rows = [base, as_run("default constants", chosen, fixed),
                    as_run("joint 5-fold CV, held out", chosen, held[name])]  # fmt: skip
            for run in rows:
                per = run["per_query"]
                figures = {m: np.mean([r[m] for r in per]) for m in ("mrr", "ndcg", "recall")}
                cells = ["—", "—"]
                if run is not base:
                    diff = {r["metric"]: r for r in compare(base, run)}
                    cells = [
                        f"{diff[m]['difference']:+.3f} [{diff[m]['ci95'][0]:+.3f}, "
                        f"{diff[m]['ci95'][1]:+.3f}] p={diff[m]['p_value']:.4f}"
                        for m in ("mrr", "ndcg")
                    ]
                print(f"| {name} | {subset} ({len(chosen)}) | {run['mode']} | {figures['mrr']:.3f} "
                      f"| {figures['ndcg']:.3f} | {figures['recall']:.3f} | {cells[0]} "
                      f"| {cells[1]} |")  # fmt: skip
        archive.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
