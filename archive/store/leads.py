"""Article leads (ingest/leads.py) in SQLite: the `article_leads` rows (text and vector) and
their FTS5 index `leads_fts` (schema.py's m008_leads), written and removed with an article's
passages, and read by search as one `LeadIndex` (search/searcher.py's `LeadEvidence`).

Everything search asks of the leads goes through `LeadIndex`'s three methods, so the keyword
side can move to another engine without touching the searcher.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..records import LeadRow
from ..search.fusion import LEAD_DEPTH
from ..search.owners import Owners, lead_arrays
from .fts import CommonTerms, fts_terms

if TYPE_CHECKING:
    from ..search.filters import Filters
    from .store import Store

# The meta key counting the lead writes made without new passages (`reindex` filling leads,
# re-embedding): the passage map's lead vectors (index/passage_map.py) reload when it moves.
# Leads written with their passages (store.py) need no count: the map reads them with the
# passages added.
LEAD_WRITES = "lead_writes"

# Leads from which very common query terms are left out (as passages from 200,000 on, fts.py):
# about the same archive size, at four passages an article.
COMMON_TERMS_FROM = 50_000


def write_lead(
    conn: sqlite3.Connection, article_id: str, lead: LeadRow | None, passage_id: int | None
) -> None:
    """Replace an article's lead (inside the caller's transaction); `passage_id` is its first
    passage's. Without either, the article is left without a lead."""
    remove_leads(conn, [article_id])
    if lead is None or passage_id is None:
        return
    vector = np.ascontiguousarray(lead.vector, dtype=np.float32)
    conn.execute(
        "INSERT INTO article_leads (article_id, passage_id, text, vector) VALUES (?, ?, ?, ?)",
        [article_id, int(passage_id), lead.text, vector.tobytes()],
    )


def count_lead_writes(conn: sqlite3.Connection) -> None:
    """Bump `LEAD_WRITES` (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [LEAD_WRITES],
    )


def remove_leads(conn: sqlite3.Connection, article_ids: Sequence[str]) -> None:
    """Delete the leads of these articles (inside the caller's transaction)."""
    conn.executemany("DELETE FROM article_leads WHERE article_id = ?", [(a,) for a in article_ids])


class LeadIndex:
    """The leads of one store: what search reads of them, and what `reindex` fills."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.common = CommonTerms("leads_fts", "article_leads", COMMON_TERMS_FROM)

    def lookup(
        self, query_vector: np.ndarray, article_ids: Sequence[str]
    ) -> tuple[dict[str, float], dict[str, int]]:
        """For these articles: article id -> the inner product of the query's vector and its
        lead's (normalised vectors: a cosine), and article id -> its first passage's id.
        One read of the leads; only articles without a lead (an archive `reindex` has not
        filled yet) have their first passage looked up in the passages table."""
        query = np.asarray(query_vector, dtype=np.float32).ravel()
        rows = self.store.select_in(
            "SELECT article_id, passage_id, vector FROM article_leads "
            "WHERE article_id IN ({marks})",
            article_ids,
        )
        first = {str(r[0]): int(r[1]) for r in rows}
        missing = [a for a in article_ids if a not in first]
        if missing:
            sql = (
                "SELECT article_id, id FROM passages INDEXED BY passages_article "
                "WHERE article_id IN ({marks}) AND position = 0"
            )
            first.update(self.store.select_in(sql, missing))
        rows = [r for r in rows if len(r[2]) == query.nbytes]  # another model's: not comparable
        if not rows:
            return {}, first
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32)
        scores = matrix.reshape(len(rows), -1) @ query
        return {str(r[0]): float(s) for r, s in zip(rows, scores)}, first

    def for_owners(
        self, query_vector: np.ndarray, owners: Owners
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """`lookup` by article code (search/searcher.py's LeadEvidence)."""
        return lead_arrays(self.lookup(query_vector, owners.articles), owners)

    def keyword(
        self, query: str, filters: Filters, depth: int = LEAD_DEPTH
    ) -> list[tuple[str, float]]:
        """Up to `depth` (article id, BM25 of its lead), best first, over the articles passing
        the filters; the query's terms as keyword search takes them (store/fts.py), very
        common ones left out in large archives (`COMMON_TERMS_FROM` leads)."""
        terms = fts_terms(query)
        if not terms:
            return []
        params: list[Any] = []
        clause = ""
        if not filters.is_empty():
            where, extra = filters.to_sql("a")
            clause = f"AND l.article_id IN (SELECT a.id FROM articles a WHERE {where}) "
            params += extra
        sql = (
            "SELECT l.article_id, -bm25(leads_fts) FROM leads_fts "
            "JOIN article_leads l ON l.id = leads_fts.rowid "
            f"WHERE leads_fts MATCH ? {clause}"
            "ORDER BY bm25(leads_fts), l.id LIMIT ?"
        )
        with self.store.reading() as conn:
            expression = " OR ".join(self.common.filter(conn, terms))
            rows = conn.execute(sql, [expression, *params, depth]).fetchall()
        return [(str(r[0]), float(r[1])) for r in rows]

    def count(self) -> int:
        with self.store.reading() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM article_leads").fetchone()[0])

    def missing(self, batch: int = 1000) -> Iterator[list[tuple[str, int, str]]]:
        """(article id, first passage id, its text) of the articles that have passages but no
        lead, in batches, for `reindex` to fill."""
        last = ""
        while True:
            with self.store.reading() as conn:
                rows = conn.execute(
                    "SELECT p.article_id, p.id, p.text FROM passages p "
                    "INDEXED BY passages_article "
                    "WHERE p.position = 0 AND p.article_id > ? AND NOT EXISTS "
                    "(SELECT 1 FROM article_leads l WHERE l.article_id = p.article_id) "
                    "ORDER BY p.article_id LIMIT ?",
                    [last, batch],
                ).fetchall()
            if not rows:
                return
            yield [(str(r[0]), int(r[1]), str(r[2])) for r in rows]
            last = str(rows[-1][0])

    def texts(self, batch: int = 2048) -> Iterator[list[tuple[str, str]]]:
        """(article id, lead text) of every lead, in batches, for re-embedding."""
        last = 0
        while True:
            with self.store.reading() as conn:
                rows = conn.execute(
                    "SELECT id, article_id, text FROM article_leads WHERE id > ? ORDER BY id "
                    "LIMIT ?",
                    [last, batch],
                ).fetchall()
            if not rows:
                return
            yield [(str(r[1]), str(r[2])) for r in rows]
            last = int(rows[-1][0])

    def set_vectors(self, article_ids: Sequence[str], vectors: np.ndarray) -> None:
        """Replace leads' vectors in place (re-embedding keeps the rows and their FTS)."""
        rows = [
            (np.ascontiguousarray(v, dtype=np.float32).tobytes(), a)
            for a, v in zip(article_ids, vectors)
        ]
        with self.store.write() as conn:
            conn.executemany("UPDATE article_leads SET vector = ? WHERE article_id = ?", rows)
            count_lead_writes(conn)

    def store_leads(self, leads: Sequence[tuple[str, int, LeadRow]]) -> None:
        """Write (article id, first passage id, lead) rows, each replacing the article's lead,
        in one write."""
        with self.store.write() as conn:
            for article_id, passage_id, lead in leads:
                write_lead(conn, article_id, lead, passage_id)
            count_lead_writes(conn)
