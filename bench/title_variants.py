"""How titles reach the index, variant by variant (the search behind bench/README.md, "Titles").

    python bench/title_variants.py --work bench/.work            # both sets
    python bench/title_variants.py --sets bbc --headlines        # + BBC headline queries

Semantic: on the bodies-only archive of `bench/eval.py` (`WORK/NAME`), each passage vector
blended with its article's encoded title at several weights, and a title passage of its own,
ranked exactly (numpy), scored at article level against titles off with a paired bootstrap.
`--headlines` scores the dev set's headline queries the same way (how well a headline finds its
article once titles are in). Keyword and hybrid: on the title-on archive of `bench/eval.py
--titles` (`WORK/NAME-titles`), the heading column's BM25 weight 1-4. Reads ../shared/; exits
with a message when it is absent. Not a test: nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPORA = {"bbc": "corpora/bbc.jsonl", "reuters": "corpora/reuters21578-6k.jsonl"}
HEADLINES = {"bbc": "eval/bbc_headlines.jsonl", "reuters": "eval/reuters21578_headlines.jsonl"}


def semantic_variants(name: str, work: Path, queries_path: Path) -> None:
    from newsarchive.archive import Archive
    from newsarchive.archive.evaluate import compare, load_queries, means, per_query_scores

    archive = Archive(work / name)
    with archive.store.reading() as conn:
        rows = conn.execute("SELECT article_id, vector FROM passages ORDER BY id").fetchall()
    owners = [r[0] for r in rows]
    passages = np.vstack([np.frombuffer(r[1], np.float32) for r in rows])
    with open(SHARED / CORPORA[name]) as corpus:
        titles = {str(d["id"]): d.get("title") or "" for d in map(json.loads, corpus)}
    ids = sorted(set(owners))
    title_vectors = archive.embedder.encode([titles.get(a, "") for a in ids])
    row_of = {a: i for i, a in enumerate(ids)}
    per_passage = title_vectors[[row_of[a] for a in owners]]
    has_title = np.array([bool(titles.get(a)) for a in owners])[:, None]
    queries = load_queries(queries_path)
    query_vectors = archive.embedder.encode([q["query"] for q in queries])

    def run(vectors: np.ndarray, owner: list[str], label: str) -> dict:
        scores = query_vectors @ vectors.T
        runs = {}
        for i, q in enumerate(queries):
            ranked: list[str] = []
            for j in np.argsort(-scores[i])[:300]:
                if owner[j] not in ranked:
                    ranked.append(owner[j])
                if len(ranked) == 10:
                    break
            runs[str(q["qid"])] = ranked
        per_query = per_query_scores(queries, runs, 10)
        rows = [{"qid": k, **v} for k, v in per_query.items()]
        return {"mode": label, "per_query": rows, **means(per_query)}

    base = run(passages, owners, "titles off")
    print(f"\n{name} semantic, {queries_path.name}: titles off MRR@10 {base['mrr']:.3f}")
    variants = []
    for weight in (0.1, 0.15, 0.2, 0.25, 0.3, 0.5):
        mixed = passages + weight * per_passage * has_title
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        variants.append((f"blend w={weight}", mixed, owners))
    variants.append(("title passage", np.vstack([passages, title_vectors]), owners + ids))
    for label, vectors, owner in variants:
        result = run(vectors, owner, label)
        d = {x["metric"]: x for x in compare(base, result)}["mrr"]
        print(f"  {label}: MRR@10 {result['mrr']:.3f}  {d['difference']:+.3f} "
              f"[{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] p={d['p_value']:.2f}")  # fmt: skip
    archive.close()


def keyword_weights(name: str, work: Path) -> None:
    from newsarchive.archive import Archive
    from newsarchive.archive.evaluate import compare
    from newsarchive.archive.store import fts

    queries = ROOT / "bench" / "sets" / f"{name}_questions.jsonl"
    off, on = Archive(work / name), Archive(work / f"{name}-titles")
    base = {m: off.evaluate(queries, mode=m, per_query=True) for m in ("keyword", "hybrid")}
    print(f"\n{name} heading column weight, {queries.name} (MRR@10 vs titles off)")
    saved = fts._BM25
    try:
        for weight in (1, 2, 3, 4):
            fts._BM25 = f"bm25(passages_fts, 1, {weight})"
            for mode in ("keyword", "hybrid"):
                result = on.evaluate(queries, mode=mode, per_query=True)
                d = {x["metric"]: x for x in compare(base[mode], result)}["mrr"]
                print(f"  weight {weight} {mode}: MRR@10 {result['mrr']:.3f}  "
                      f"{d['difference']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] "
                      f"p={d['p_value']:.2f}")  # fmt: skip
    finally:
        fts._BM25 = saved
    off.close()
    on.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="bbc,reuters")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".work")
    parser.add_argument("--headlines", action="store_true", help="also the headline queries")
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"{SHARED} not found: the corpora are not on this machine; nothing to do.")
        return 0
    for name in args.sets.split(","):
        semantic_variants(name, args.work, ROOT / "bench" / "sets" / f"{name}_questions.jsonl")
        if args.headlines:
            semantic_variants(name, args.work, SHARED / HEADLINES[name])
        if (args.work / f"{name}-titles").exists():
            keyword_weights(name, args.work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
