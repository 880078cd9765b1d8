"""Keyword retrieval: BM25 over the passages' FTS5 index (Porter stemming, diacritics folded).

Raw user text is not valid FTS5 syntax in general (hyphens, colons, quotes), so every term is
quoted, and `"quoted phrases"` stay phrases; OR-ed together, BM25 then rewards passages that
match more and rarer terms. Filters join the articles table inside the same query, so they
apply before ranking.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..search.terms import STOPWORDS
from .store import Store

if TYPE_CHECKING:
    from ..search.filters import Filters


def fts_terms(query: str) -> list[str]:
    """A user's words -> safe FTS5 terms: quoted phrases kept, every other word quoted."""
    phrases = [p.strip() for p in re.findall(r'"([^"]+)"', query) if p.strip()]
    rest = re.sub(r'"[^"]*"', " ", query)
    words = [w for w in re.findall(r"\w+", rest.lower()) if w not in STOPWORDS]
    if not words and not phrases:
        words = re.findall(r"\w+", rest.lower())
    terms = ['"' + " ".join(re.findall(r"\w+", p)) + '"' for p in phrases]
    terms += [f'"{w}"' for w in dict.fromkeys(words)]
    return [t for t in terms if t != '""']


class CommonTerms:
    """Drops very common terms from large archives' keyword queries (a frequency cutoff).

    FTS5 scores every passage that matches any term of an OR query, so one term found in a
    tenth of a million passages costs hundreds of milliseconds while adding little to BM25
    (its IDF is low). Past `MIN_PASSAGES`, a term in more than `SHARE` of the passages is left
    out when rarer terms remain, as Elasticsearch's `cutoff_frequency` did. Counting stops at
    the cutoff, so deciding costs a few milliseconds; counts are cached until the archive grows
    by a tenth. Smaller archives (and all dev-set figures) are unaffected.
    """

    MIN_PASSAGES = 200_000
    SHARE = 0.02

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.size = 0

    def filter(self, conn: Any, terms: list[str]) -> list[str]:
        size = conn.execute("SELECT COALESCE(MAX(id), 0) FROM passages").fetchone()[0]
        if size < self.MIN_PASSAGES or len(terms) < 2:
            return terms
        if size > self.size * 1.1:
            self.counts, self.size = {}, size
        cutoff = int(size * self.SHARE)
        kept = []
        for term in terms:
            if term not in self.counts:
                self.counts[term] = conn.execute(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM passages_fts WHERE passages_fts MATCH ? "
                    "LIMIT ?)",
                    [term, cutoff + 1],
                ).fetchone()[0]
            if self.counts[term] <= cutoff:
                kept.append(term)
        return kept or terms


class KeywordIndex:
    """FTS5 BM25 retrieval over one store (search/searcher.py's KeywordSearch)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.common = CommonTerms()

    def __call__(self, query: str, filters: Filters, depth: int) -> list[tuple[int, float]]:
        return self.search(query, filters, depth)

    def search(self, query: str, filters: Filters, depth: int) -> list[tuple[int, float]]:
        """Up to `depth` (passage id, BM25 score), best first; ties by id for stable paging."""
        terms = fts_terms(query)
        if not terms:
            return []
        if filters.is_empty():
            # No joins: with them SQLite looks up the passage and the article of every match
            # before sorting, which at a million passages costs more than the BM25 scoring.
            sql = (
                "SELECT rowid, -bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ? "
                "ORDER BY bm25(passages_fts), rowid LIMIT ?"
            )
            params: list[Any] = []
        else:
            clause, params = filters.to_sql("a")
            sql = (
                "SELECT p.id, -bm25(passages_fts) AS score FROM passages_fts "
                "JOIN passages p ON p.id = passages_fts.rowid "
                "JOIN articles a ON a.id = p.article_id "
                f"WHERE passages_fts MATCH ? AND {clause} "
                "ORDER BY bm25(passages_fts), p.id LIMIT ?"
            )
        with self.store.reading() as conn:
            expression = " OR ".join(self.common.filter(conn, terms))
            rows = conn.execute(sql, [expression, *params, depth]).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]
