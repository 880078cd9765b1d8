"""How many syndicated copies ingest finds in a corpus, without paying for embeddings.

    .venv/bin/python bench/dedup.py [../shared/corpora/bbc.jsonl]

Runs the real ingest path (parsing, identity, fingerprints, exact copies, MinHash/LSH clusters,
SQLite writes) into a throw-away archive with the model-free `HashEmbedder`, so only the
embedding cost is missing. Prints the figures and the time the dedup work took.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "corpora" / "bbc.jsonl"


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]) if argv else DEFAULT
    if not corpus.exists():
        print(f"{corpus}: not found; nothing to measure (the corpus lives in ../shared/)")
        return 0
    sys.path.insert(0, str(ROOT))
    from newsarchive.archive import Archive
    from newsarchive.archive.ingest.fingerprint import Fingerprint
    from newsarchive.archive.sources.files import open_text_stream
    from newsarchive.archive.sources.json_records import iter_jsonl
    from newsarchive.index.embedders.hashing import HashEmbedder

    articles = [a for a in iter_jsonl(open_text_stream(corpus), str(corpus))]
    started = time.perf_counter()
    for article in articles:
        Fingerprint.of(article.title, article.paragraphs)
    fingerprint_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        with Archive(folder, embedder=HashEmbedder(dimension=8)) as archive:
            started = time.perf_counter()
            report = archive.ingest([corpus])
            seconds = time.perf_counter() - started
            stats = archive.stats()
            conn = archive.store.db.conn
            copies_per_article = Counter(
                r[0] for r in conn.execute("SELECT article_id FROM article_copies")
            )
            sizes = Counter(
                n
                for (n,) in conn.execute(
                    "SELECT COUNT(*) FROM article_dedup GROUP BY cluster_id HAVING COUNT(*) > 1"
                )
            )
            examples = conn.execute(
                "SELECT group_concat(a.title, ' | ') FROM article_dedup d "
                "JOIN articles a ON a.id = d.article_id GROUP BY d.cluster_id "
                "HAVING COUNT(*) > 1 LIMIT 5"
            ).fetchall()
    print(f"corpus: {corpus} ({len(articles)} articles)")
    print(f"ingest: {report.summary()}")
    print(
        f"exact-duplicate groups: {len(copies_per_article)} "
        f"({sum(copies_per_article.values())} copies kept as extra sources, not as articles)"
    )
    print(f"articles stored: {stats['articles']}")
    print(
        f"near-duplicate clusters: {stats['near_duplicate_clusters']} "
        f"({stats['clustered_articles']} articles; sizes {dict(sorted(sizes.items()))})"
    )
    for (titles,) in examples:
        print(f"  e.g. {titles}")
    print(
        f"fingerprints alone: {fingerprint_seconds:.2f} s "
        f"({1000 * fingerprint_seconds / max(len(articles), 1):.2f} ms/article); "
        f"whole ingest without embedding: {seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
