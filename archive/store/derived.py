"""The store's side of the derived views: what the keyword index (index/keywords/view.py's
`KeywordSource`) and the passage map (index/passage_map.py's `PassageMapSource`) read.

Both follow the database as the FAISS view does: by the generation counter, the tombstones of
removed passages, the passages above the largest id they hold, and `article_changes`, the log
that migration m006's triggers fill when an article's date, source or metadata, or its cluster
of copies, changes without new text. The store's own writes are unchanged.

Metadata values are read with the expressions archive/search/filters.py matches with
(`json_each` over the field, `CAST(value AS TEXT)`), so a `where` filter means the same in the
keyword index as in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .leads import LEAD_WRITES
from .store import Store

# The text a passage is found by: its own and its article's heading (schema.FTS_COLUMNS, what
# FTS5 indexes), as one field for the keyword index.
_ROWS = (
    "SELECT p.id, CASE WHEN p.heading = '' THEN p.text ELSE p.text || char(10) || p.heading END, "
    "p.article_id, a.date, a.source FROM passages p "
    "JOIN articles a ON a.id = p.article_id WHERE {cond}"
)
# Field names a filter can name (filters.py's FIELD_RE); metadata that is not a JSON object
# has no fields.
_METADATA = (
    "SELECT a.id, k.key, CAST(e.value AS TEXT) FROM articles a, "
    "json_each(CASE WHEN json_valid(a.metadata) AND json_type(a.metadata) = 'object' "
    "THEN a.metadata ELSE '{{}}' END) k, "
    "json_each(a.metadata, '$.\"' || k.key || '\"') e "
    "WHERE a.id IN ({marks}) AND k.key GLOB '[A-Za-z_]*' "
    "AND NOT k.key GLOB '*[^A-Za-z0-9_]*' AND length(k.key) <= 64 AND e.value IS NOT NULL"
)
_OWNERS = (
    "SELECT p.id, p.position, p.article_id, COALESCE(d.cluster_id, p.article_id), a.date, a.source "
    "FROM passages p JOIN articles a ON a.id = p.article_id "
    "LEFT JOIN article_dedup d ON d.article_id = p.article_id WHERE {cond}"
)


class DerivedSource:
    """Reads of one store for the derived views, through its read connections (`reading()`:
    they never wait for a writer)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- shared with the vector view -----------------------------------------------------------
    def generation(self) -> int:
        return self.store.generation()

    def lineage(self) -> tuple[str, int, str]:
        """(archive id, generation, the generation's token): see index/sync.py."""
        return self.store.lineage()

    def token_at(self, generation: int) -> str | None:
        return self.store.token_at(generation)

    def max_passage_id(self) -> int:
        """The largest passage id the database ever issued (ids only grow)."""
        return self.store.max_passage_id()

    def tombstones_pruned_through(self) -> int:
        return self.store.tombstones_pruned_through()

    def passage_ids(self) -> np.ndarray:
        return self.store.passage_ids()

    def changes_since(self, generation: int, max_id: int) -> tuple[np.ndarray, np.ndarray]:
        return self.store.changes_since(generation, max_id)

    def passage_count(self) -> int:
        with self.store.reading() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0])

    def changed_articles(self, generation: int) -> list[tuple[str, str, str | None, str | None]]:
        """(article id, cluster, date, source) of the articles logged as changed after
        `generation` that still exist."""
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT a.id, COALESCE(d.cluster_id, a.id), a.date, a.source FROM articles a "
                "LEFT JOIN article_dedup d ON d.article_id = a.id WHERE a.id IN "
                "(SELECT article_id FROM article_changes WHERE generation > ?)",
                [generation],
            ).fetchall()
        return [tuple(r) for r in rows]

    # -- the keyword index -------------------------------------------------------------------
    def keyword_changes(self, generation: int, max_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(passages removed after `generation`, passages to index again: new ones above
        `max_id` and every passage of an article logged as changed after `generation`)."""
        removed, added = self.store.changes_since(generation, max_id)
        with self.store.reading() as conn:
            changed = conn.execute(
                "SELECT p.id FROM passages p WHERE p.article_id IN "
                "(SELECT article_id FROM article_changes WHERE generation > ?)",
                [generation],
            ).fetchall()
        again = np.union1d(added, np.array([r[0] for r in changed], dtype=np.int64))
        return removed, again.astype(np.int64)

    # What the keyword index reads: a {cond} query of (id, text, article id, date, source) and
    # its id column (LeadSource reads the leads instead).
    _keyword_rows_sql = _ROWS
    _keyword_id = "p.id"

    def keyword_rows(
        self, ids: Sequence[int] | None = None, *, batch: int = 10_000
    ) -> Iterator[list[tuple[int, str, str | None, str | None, dict[str, list[str]]]]]:
        """(id, text, date, source, metadata) of these documents (all when None), in batches
        by ascending id; documents removed meanwhile are left out."""
        key, sql = self._keyword_id, self._keyword_rows_sql
        every = sql.format(cond=f"{key} > ? ORDER BY {key} LIMIT ?")
        chosen = sql.format(cond=f"{key} IN ({{marks}})")
        for rows in self._batches(every, chosen, ids, batch):
            yield self._with_metadata(rows if ids is None else sorted(rows))

    def _batches(
        self, every: str, chosen: str, ids: Sequence[int] | None, batch: int
    ) -> Iterator[list[Any]]:
        """Rows in batches of at most `batch`: all of them when `ids` is None (`every`: a keyset
        query whose first column is the key, with parameters (last key, limit)), else those of
        these ids (`chosen`, with `{marks}` for them), ascending ids chunk by chunk; empty
        batches are skipped. Each batch is read on its own read connection."""
        if ids is None:
            last = -1
            while True:
                with self.store.reading() as conn:
                    rows = conn.execute(every, [last, batch]).fetchall()
                if not rows:
                    return
                yield rows
                last = rows[-1][0]
        else:
            wanted = sorted({int(i) for i in ids})
            for start in range(0, len(wanted), batch):
                rows = self.store.select_in(chosen, wanted[start : start + batch])
                if rows:
                    yield rows

    def _with_metadata(self, rows: list[tuple]) -> list[tuple]:
        metadata: dict[str, dict[str, list[str]]] = {}
        articles = list(dict.fromkeys(r[2] for r in rows))
        for article_id, key, value in self.store.select_in(_METADATA, articles):
            metadata.setdefault(article_id, {}).setdefault(key, []).append(value)
        return [
            (pid, text, date, source, metadata.get(a, {})) for pid, text, a, date, source in rows
        ]

    # -- the passage map ---------------------------------------------------------------------
    def passage_owners(
        self, ids: Sequence[int] | None = None, *, batch: int = 50_000
    ) -> Iterator[tuple[np.ndarray, np.ndarray, list[tuple]]]:
        """(passage ids, their positions in their articles, (article id, cluster, date, source)
        of each) in batches by id."""
        every = _OWNERS.format(cond="p.id > ? ORDER BY p.id LIMIT ?")
        for rows in self._batches(every, _OWNERS.format(cond="p.id IN ({marks})"), ids, batch):
            yield _owners(rows)

    def lead_writes(self) -> str:
        """The count of lead writes made without new passages (store/leads.py)."""
        return self.store.get_meta(LEAD_WRITES, "0") or "0"

    def lead_vectors(
        self, ids: Sequence[int] | None = None, *, batch: int = 20_000
    ) -> Iterator[tuple[np.ndarray, list[str], list[bytes]]]:
        """(first passage ids, article ids, vector bytes) of the leads keyed by these passages
        (all when None), in batches."""
        every = (
            "SELECT id, passage_id, article_id, vector FROM article_leads "
            "WHERE id > ? ORDER BY id LIMIT ?"
        )
        chosen = (
            "SELECT id, passage_id, article_id, vector FROM article_leads "
            "INDEXED BY article_leads_passage WHERE passage_id IN ({marks})"
        )
        for rows in self._batches(every, chosen, ids, batch):
            yield _leads(rows)


def _leads(rows: list[Any]) -> tuple[np.ndarray, list[str], list[bytes]]:
    ids = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    return ids, [str(r[2]) for r in rows], [r[3] for r in rows]


def _owners(rows: list[Any]) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    positions = np.fromiter((r[1] for r in rows), dtype=np.int32, count=len(rows))
    return ids, positions, [r[2:] for r in rows]


# A lead's row for the keyword index: keyed by its article's first passage id (a lead is
# written exactly when its article's passages are, store.py), with the article's fields.
_LEAD_ROWS = (
    "SELECT l.passage_id, l.text, l.article_id, a.date, a.source FROM article_leads l "
    "JOIN articles a ON a.id = l.article_id WHERE {cond}"
)


class LeadSource(DerivedSource):
    """The leads as the keyword index reads them (`KeywordSource`), each lead a document keyed
    by its article's first passage id. A lead is replaced exactly when its first passage is,
    so the passages' change machinery applies unchanged: a removed first passage (tombstone)
    removes the lead, a lead written later has a first passage above the largest id the index
    holds, and an article logged as changed re-indexes its lead. Counts and ids are the
    leads'; the lineage and the tombstones are the database's."""

    _keyword_rows_sql = _LEAD_ROWS  # (first passage id, lead text, ...), keyed by it
    _keyword_id = "l.passage_id"

    def passage_count(self) -> int:
        with self.store.reading() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM article_leads").fetchone()[0])

    def passage_ids(self) -> np.ndarray:
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT passage_id FROM article_leads INDEXED BY article_leads_passage "
                "ORDER BY passage_id"
            ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def keyword_changes(self, generation: int, max_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(passages removed after `generation`: leads among them go; the leads to index
        again: those whose first passage is above `max_id`, and those of articles logged as
        changed after `generation`)."""
        with self.store.reading() as conn:
            gone = conn.execute(
                "SELECT passage_id FROM tombstones WHERE generation > ?", [generation]
            ).fetchall()
            rows = conn.execute(
                "SELECT passage_id FROM article_leads WHERE passage_id > ? UNION "
                "SELECT passage_id FROM article_leads WHERE article_id IN "
                "(SELECT article_id FROM article_changes WHERE generation > ?)",
                [max_id, generation],
            ).fetchall()
        removed = np.array([r[0] for r in gone], dtype=np.int64)
        return removed, np.unique(np.array([r[0] for r in rows], dtype=np.int64))
