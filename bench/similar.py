"""Similar stories: one search with the mean of an article's passage vectors, against one search
per passage keeping each candidate article's best match ("max-sim").

    .venv/bin/python bench/similar.py --data ARCHIVE [--articles 200]

ARCHIVE must be embedded with the real model and hold Reuters articles (their `topics` are the
yardstick): for sampled articles with topics, precision@10 is the share of the 10 most similar
articles that share at least one topic with it (the article itself and its near copies left
out, as `Archive.similar` does), and the time of each method is the median per article.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if not (args.data / "archive.db").exists():
        print(f"{args.data}: no archive (skipped)")
        return 0
    from newsarchive.archive import Archive
    from newsarchive.archive.search.collapse import group_by_article
    from newsarchive.archive.search.similar import article_vector

    archive = Archive(args.data, create=False)
    searcher = archive.searcher()
    rows = archive.store.conn.execute("SELECT id, metadata FROM articles").fetchall()
    topics = {i: set(json.loads(m).get("topics") or []) for i, m in rows}
    sample = random.Random(args.seed).sample([i for i, t in topics.items() if t], args.articles)

    def top10(article_id: str, method: str) -> list[str]:
        _, vectors = archive.explore.article_vectors(article_id)
        exclude = set(archive.explore.cluster_members(article_id))
        if method == "mean":
            ranked = searcher.vector_search(article_vector(vectors), 500, None)
        else:
            best: dict[int, float] = {}
            for vector in vectors:
                for pid, score in searcher.vector_search(vector, 100, None):
                    best[pid] = max(best.get(pid, -1.0), score)
            ranked = sorted(best.items(), key=lambda pair: (-pair[1], pair[0]))
        article_of = archive.store.article_ids([pid for pid, _ in ranked])
        ranked = [(p, s) for p, s in ranked if article_of.get(p) not in exclude]
        grouped, _ = group_by_article(ranked, article_of)
        return [article_of[p] for p, _ in grouped[:10]]

    print(
        f"{len(rows):,} articles; {args.articles} sampled with topics; {archive.stats()['passages']:,} passages"
    )
    print("| method | precision@10 (shares a topic) | ms per article (median) |")
    print("| --- | --- | --- |")
    for method in ("mean", "max-sim"):
        precisions, times = [], []
        for article_id in sample:
            started = time.perf_counter()
            found = top10(article_id, method)
            times.append((time.perf_counter() - started) * 1000)
            shared = [bool(topics.get(f, set()) & topics[article_id]) for f in found]
            precisions.append(float(np.mean(shared)) if shared else 0.0)
        print(
            f"| {method} | {statistics.mean(precisions):.3f} | {statistics.median(times):.1f} |",
            flush=True,
        )
    archive.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
