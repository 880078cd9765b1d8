"""How many syndicated copies ingest finds in a corpus, without paying for embeddings.

    .venv/bin/python bench/dedup.py [../shared/corpora/bbc.jsonl]

Runs the real ingest path (parsing, identity, fingerprints, exact copies, MinHash/LSH clusters,
SQLite writes) into a throw-away archive with a stub embedder that returns random vectors, so
only the embedding cost is missing. Prints the figures and the time the dedup work took.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "corpora" / "bbc.jsonl"


class StubEmbedder:
    """Random unit vectors and word counts: the pipeline runs, the model does not."""

    name = "stub"
    path = None
    dimension = 8
    max_tokens = 254

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def load(self) -> None:
        pass

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [int(len(t.split()) * 1.3) + 2 for t in texts]

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.rng.normal(size=(len(texts), self.dimension)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode([query])[0]


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]) if argv else DEFAULT
    if not corpus.exists():
        print(f"{corpus}: not found; nothing to measure (the corpus lives in ../shared/)")
        return 0
    sys.path.insert(0, str(ROOT))
    from newsarchive.archive import Archive
    from newsarchive.archive.dedup import Fingerprint
    from newsarchive.archive.parsing import iter_jsonl, open_text_stream

    articles = [a for a in iter_jsonl(open_text_stream(corpus), str(corpus))]
    started = time.perf_counter()
    for article in articles:
        Fingerprint.of(article.title, article.paragraphs)
    fingerprint_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        with Archive(folder, embedder=StubEmbedder()) as archive:
            started = time.perf_counter()
            report = archive.ingest([corpus])
            seconds = time.perf_counter() - started
            stats = archive.stats()
            conn = archive.store.db.conn
            copies_per_article = Counter(
                r[0] for r in conn.execute("SELECT article_id FROM article_sources")
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
