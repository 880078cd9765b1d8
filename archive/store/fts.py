"""Keyword retrieval: BM25 over the passages' FTS5 index (Porter stemming, diacritics folded).

Each row holds a passage's text and its article's heading (title and standfirst; the columns
are schema.FTS_COLUMNS); BM25 weighs a match in the heading by COLUMN_WEIGHTS, so a word
found only in the headline finds every passage of the article.

Raw user text is not valid FTS5 syntax in general (hyphens, colons, quotes), so every term is
quoted, and `"quoted phrases"` stay phrases; OR-ed together, BM25 then rewards passages that
match more and rarer terms. Filters join the articles table inside the same query, so they
apply before ranking.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..search.terms import STOPWORDS

if TYPE_CHECKING:
    from ..search.filters import Filters
    from .store import Store

# BM25 weight of each of schema.FTS_COLUMNS (text, heading): measured in bench/README.md
# ("Titles"); with no headings stored (bodies-only archives) the scores are the text's alone.
COLUMN_WEIGHTS = (1.0, 1.0)
_BM25 = f"bm25(passages_fts, {', '.join(f'{w:g}' for w in COLUMN_WEIGHTS)})"


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


def count_matches(conn: Any, term: str, cap: int | None = None, fts: str = "passages_fts") -> int:
    """Rows of the FTS5 table `fts` (a fixed name, never input) matching `term`, counted up to
    `cap` (None: all): counting stops at the cap, so a common term costs little."""
    matches = f"SELECT 1 FROM {fts} WHERE {fts} MATCH ?"
    if cap is None:
        return int(conn.execute(f"SELECT COUNT(*) FROM ({matches})", [term]).fetchone()[0])
    sql = f"SELECT COUNT(*) FROM ({matches} LIMIT ?)"
    return int(conn.execute(sql, [term, cap]).fetchone()[0])


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

    def __init__(
        self, fts: str = "passages_fts", table: str = "passages", min_rows: int | None = None
    ) -> None:
        self.counts: dict[str, int] = {}
        self.size = 0
        self.fts, self.table, self.min_rows = fts, table, min_rows  # fixed names, never input

    def filter(self, conn: Any, terms: list[str]) -> list[str]:
        size = conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.table}").fetchone()[0]
        min_rows = self.MIN_PASSAGES if self.min_rows is None else self.min_rows
        if size < min_rows or len(terms) < 2:
            return terms
        if size > self.size * 1.1:
            self.counts, self.size = {}, size
        cutoff = int(size * self.SHARE)
        kept = []
        for term in terms:
            if term not in self.counts:
                self.counts[term] = count_matches(conn, term, cutoff + 1, self.fts)
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
                f"SELECT rowid, -{_BM25} FROM passages_fts WHERE passages_fts MATCH ? "
                f"ORDER BY {_BM25}, rowid LIMIT ?"
            )
            params: list[Any] = []
        else:
            clause, params = filters.to_sql("a")
            sql = (
                f"SELECT p.id, -{_BM25} AS score FROM passages_fts "
                "JOIN passages p ON p.id = passages_fts.rowid "
                "JOIN articles a ON a.id = p.article_id "
                f"WHERE passages_fts MATCH ? AND {clause} "
                f"ORDER BY {_BM25}, p.id LIMIT ?"
            )
        with self.store.reading() as conn:
            expression = " OR ".join(self.common.filter(conn, terms))
            rows = conn.execute(sql, [expression, *params, depth]).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]
