"""The SQLite store: articles, passages, their vectors and the FTS5 keyword index.

This database is the source of truth. Every vector is kept here as a float32 blob so the FAISS
index can be rebuilt without re-embedding, and every write bumps a `generation` counter inside
the same transaction so readers (and the FAISS file) can tell whether they are current.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from . import dedup
from .sql import select_in

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    author TEXT,
    source TEXT,
    date TEXT,
    date_raw TEXT,
    url TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    text_hash TEXT NOT NULL,
    meta_hash TEXT NOT NULL,
    passage_count INTEGER NOT NULL DEFAULT 0,
    ingested_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_date ON articles(date);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
-- AUTOINCREMENT: a passage id is never reused, so a stale FAISS entry can never
-- be mistaken for a newer passage that got the same id.
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id),
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id, position);
CREATE INDEX IF NOT EXISTS passages_text_hash ON passages(text_hash);
-- Passage -> article for ~1,000 ranked candidates per search: this narrow index answers it
-- without walking the table's wide rows (text and vector).
CREATE INDEX IF NOT EXISTS passages_owner ON passages(id, article_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Passages removed at each generation, so a reader can catch its vector index up
-- without rescanning every id.
CREATE TABLE IF NOT EXISTS tombstones (passage_id INTEGER NOT NULL, generation INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tombstones_generation ON tombstones(generation);
-- Syndicated copies (archive/dedup.py): each article's text fingerprint and cluster, the LSH
-- band keys that find near-duplicates, and exact copies kept as extra sources of one article.
CREATE TABLE IF NOT EXISTS article_dedup (
    article_id TEXT PRIMARY KEY,
    text_key TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    signature BLOB
);
CREATE INDEX IF NOT EXISTS article_dedup_text ON article_dedup(text_key);
CREATE INDEX IF NOT EXISTS article_dedup_cluster ON article_dedup(cluster_id);
CREATE TABLE IF NOT EXISTS lsh_bands (band_key INTEGER NOT NULL, article_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS lsh_bands_key ON lsh_bands(band_key);
CREATE INDEX IF NOT EXISTS lsh_bands_article ON lsh_bands(article_id);
CREATE TABLE IF NOT EXISTS article_sources (
    alias_id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    title TEXT,
    source TEXT,
    url TEXT,
    date TEXT,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS article_sources_article ON article_sources(article_id);
-- Followed feeds: conditional-request validators and the outcome of the last poll.
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    last_polled TEXT,
    last_status TEXT,
    last_error TEXT,
    polls INTEGER NOT NULL DEFAULT 0,
    articles_new INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass
class PassageRow:
    article_id: str
    position: int
    text: str
    text_hash: str
    vector: np.ndarray


@dataclass
class ArticleWrite:
    """One article to store, with its passages (already embedded) when its text changed."""

    row: dict[str, Any]
    passages: list[PassageRow] | None  # None: metadata-only update, keep the passages
    fingerprint: dedup.Fingerprint | None = None  # with new text: find its syndicated copies


class Store:
    """Thread-safe wrapper over one SQLite file (WAL, so readers never block the writer)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self.db = sqlite_utils.Database(conn)
        self.lock = threading.RLock()
        self._next_generation = 0
        self.caches: dict[str, Any] = {}  # readers' derived state (e.g. term counts), by name
        with self.lock:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # Searches read ~1,000 random passage rows; mapped pages and a 64 MB cache spare
            # a system call per page (at a million passages grouping went from 15 to 10 ms).
            conn.execute("PRAGMA mmap_size=8589934592")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(SCHEMA)
            if "passages_fts" not in self.db.table_names():
                self.db["passages"].enable_fts(
                    ["text"], create_triggers=True, tokenize="porter unicode61 remove_diacritics 2"
                )

    def close(self) -> None:
        self.db.conn.close()

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.lock:
            row = self.db.conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.lock, self.db.conn:
            self._set_meta(key, value)

    def _set_meta(self, key: str, value: str) -> None:
        self.db.conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    # -- followed feeds (not archive content: no generation bump) ------------------------
    def feed_state(self, url: str) -> dict[str, Any]:
        """What the last poll of a feed left: validators for a conditional request, status."""
        with self.lock:
            rows = list(self.db.query("SELECT * FROM feeds WHERE url = ?", [url]))
        return rows[0] if rows else {}

    def save_feed_state(
        self,
        url: str,
        *,
        status: str,
        error: str | None = None,
        new: int = 0,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Record a poll; validators are replaced only by a successful fetch."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.lock, self.db.conn:
            self.db.conn.execute(
                "INSERT INTO feeds (url) VALUES (?) ON CONFLICT(url) DO NOTHING", [url]
            )
            self.db.conn.execute(
                "UPDATE feeds SET last_polled = ?, last_status = ?, last_error = ?, "
                "polls = polls + 1, articles_new = articles_new + ? WHERE url = ?",
                [now, status, error, new, url],
            )
            if status == "updated":
                self.db.conn.execute(
                    "UPDATE feeds SET etag = ?, last_modified = ? WHERE url = ?",
                    [etag, last_modified, url],
                )

    def generation(self) -> int:
        return int(self.get_meta("generation", "0") or 0)

    def _bump_generation(self) -> None:
        self.db.conn.execute(
            "INSERT INTO meta(key, value) VALUES('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that also bumps the generation; all or nothing.

        Inside it, `self._next_generation` is the generation it will commit, so a caller can
        tell whether another process wrote in between.
        """
        with self.lock:
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._next_generation = (
                    int(
                        (
                            conn.execute(
                                "SELECT value FROM meta WHERE key = 'generation'"
                            ).fetchone()
                            or [0]
                        )[0]
                    )
                    + 1
                )
                yield conn
                self._bump_generation()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _tombstone(self, conn: sqlite3.Connection, passage_ids: list[int]) -> None:
        conn.executemany(
            "INSERT INTO tombstones(passage_id, generation) VALUES (?, ?)",
            [(pid, self._next_generation) for pid in passage_ids],
        )

    def changes_since(self, generation: int, max_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids removed after `generation`, passage ids added above `max_id`).

        Passage ids only grow (AUTOINCREMENT), so anything new has an id above the largest
        one a reader already holds.
        """
        with self.lock:
            removed = self.db.conn.execute(
                "SELECT passage_id FROM tombstones WHERE generation > ?", [generation]
            ).fetchall()
            added = self.db.conn.execute(
                "SELECT id FROM passages WHERE id > ? ORDER BY id", [max_id]
            ).fetchall()
        return (
            np.array([r[0] for r in removed], dtype=np.int64),
            np.array([r[0] for r in added], dtype=np.int64),
        )

    def select_in(self, sql: str, values: Iterable[Any]) -> list[tuple]:
        """`select_in` on this store's connection, under its lock."""
        with self.lock:
            return select_in(self.db.conn, sql, values)

    # -- articles -----------------------------------------------------------------------
    def article_states(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """id -> (text_hash, meta_hash) for the ids already stored."""
        sql = "SELECT id, text_hash, meta_hash FROM articles WHERE id IN ({marks})"
        return {row[0]: (row[1], row[2]) for row in self.select_in(sql, ids)}

    def duplicates_of(self, keys: Iterable[str]) -> dict[str, str]:
        """text key -> the stored article with that exact text."""
        found: dict[str, str] = {}
        sql = "SELECT text_key, article_id FROM article_dedup WHERE text_key IN ({marks}) ORDER BY rowid"
        for key, article_id in self.select_in(sql, set(keys)):
            found.setdefault(key, article_id)
        return found

    def copy_owners(self, ids: Sequence[str]) -> dict[str, str]:
        """id of a recorded exact copy -> the article it is a copy of."""
        sql = "SELECT alias_id, article_id FROM article_sources WHERE alias_id IN ({marks})"
        return dict(self.select_in(sql, ids))

    def vectors_by_text_hash(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors already computed for identical passage text, to skip re-embedding them."""
        sql = "SELECT text_hash, vector FROM passages WHERE text_hash IN ({marks})"
        return {
            h: np.frombuffer(blob, dtype=np.float32) for h, blob in self.select_in(sql, set(hashes))
        }

    def save_articles(
        self, writes: Sequence[ArticleWrite], aliases: Sequence[tuple[str, dict[str, Any]]] = ()
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Store a batch in one transaction, with exact copies recorded as extra sources.

        Returns (removed passage ids, added passage ids, added vectors, committed generation)
        for the vector index.
        """
        removed: list[int] = []
        added_ids: list[int] = []
        added_vectors: list[np.ndarray] = []
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.write() as conn:
            for write in writes:
                row = dict(write.row)
                row["metadata"] = json.dumps(
                    row.get("metadata") or {}, ensure_ascii=False, default=str
                )
                row["updated_at"] = now
                exists = conn.execute("SELECT 1 FROM articles WHERE id = ?", [row["id"]]).fetchone()
                if write.passages is not None:
                    row["passage_count"] = len(write.passages)
                if exists:
                    assignments = ", ".join(f"{k} = :{k}" for k in row if k != "id")
                    conn.execute(f"UPDATE articles SET {assignments} WHERE id = :id", row)
                else:
                    row["ingested_at"] = now
                    # An id that was recorded as a copy of another article now has its own text.
                    conn.execute("DELETE FROM article_sources WHERE alias_id = ?", [row["id"]])
                    columns = ", ".join(row)
                    conn.execute(
                        f"INSERT INTO articles ({columns}) VALUES ({', '.join(':' + k for k in row)})",
                        row,
                    )
                if write.passages is None:
                    continue
                if write.fingerprint is not None:
                    dedup.assign(conn, row["id"], write.fingerprint)
                old = [
                    r[0]
                    for r in conn.execute(
                        "SELECT id FROM passages WHERE article_id = ?", [row["id"]]
                    )
                ]
                self._tombstone(conn, old)
                removed.extend(old)
                conn.execute("DELETE FROM passages WHERE article_id = ?", [row["id"]])
                for passage in write.passages:
                    vector = np.ascontiguousarray(passage.vector, dtype=np.float32)
                    cursor = conn.execute(
                        "INSERT INTO passages (article_id, position, text, text_hash, vector) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [
                            passage.article_id,
                            passage.position,
                            passage.text,
                            passage.text_hash,
                            vector.tobytes(),
                        ],
                    )
                    added_ids.append(int(cursor.lastrowid))
                    added_vectors.append(vector)
            for article_id, alias in aliases:
                dedup.add_source(conn, article_id, alias)
            committed = self._next_generation
        dim = added_vectors[0].shape[0] if added_vectors else 0
        vectors = np.vstack(added_vectors) if added_vectors else np.zeros((0, dim), np.float32)
        ids = np.array(added_ids, dtype=np.int64)
        return np.array(removed, dtype=np.int64), ids, vectors, committed

    def remove_articles(self, ids: Sequence[str]) -> tuple[list[str], np.ndarray, int]:
        """Delete articles and their passages.

        Returns (ids actually removed, their passage ids, committed generation). An id recorded
        only as a copy of another article removes just that copy.
        """
        removed_articles: list[str] = []
        removed_passages: list[int] = []
        with self.write() as conn:
            for article_id in ids:
                if not conn.execute("SELECT 1 FROM articles WHERE id = ?", [article_id]).fetchone():
                    copy = conn.execute(
                        "DELETE FROM article_sources WHERE alias_id = ?", [article_id]
                    )
                    if copy.rowcount:
                        removed_articles.append(article_id)
                    continue
                old = [
                    r[0]
                    for r in conn.execute(
                        "SELECT id FROM passages WHERE article_id = ?", [article_id]
                    )
                ]
                self._tombstone(conn, old)
                removed_passages.extend(old)
                conn.execute("DELETE FROM passages WHERE article_id = ?", [article_id])
                conn.execute("DELETE FROM articles WHERE id = ?", [article_id])
                dedup.forget(conn, [article_id])
                removed_articles.append(article_id)
            committed = self._next_generation
        return removed_articles, np.array(removed_passages, dtype=np.int64), committed

    def get_article(self, article_id: str) -> dict[str, Any] | None:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM articles WHERE id = ?", [article_id]))
            if not rows:  # an exact copy: the article it was stored as
                owner = self.copy_owners([article_id]).get(article_id)
                return None if owner is None else {**self.get_article(owner), "copy": article_id}
            article = decode_article(rows[0])
            article["cluster_id"] = dedup.clusters_of(self.db.conn, [article_id])[article_id]
            article["copies"] = dedup.copies_of(self.db.conn, article_id)
            article["passages"] = list(
                self.db.query(
                    "SELECT id, position, text FROM passages WHERE article_id = ? ORDER BY position",
                    [article_id],
                )
            )
        return article

    # -- vectors ------------------------------------------------------------------------
    def passage_ids(self) -> np.ndarray:
        with self.lock:
            rows = self.db.conn.execute("SELECT id FROM passages ORDER BY id").fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def vectors_for(self, ids: Sequence[int], dimension: int) -> np.ndarray:
        out = np.zeros((len(ids), dimension), dtype=np.float32)
        position = {int(pid): i for i, pid in enumerate(ids)}
        sql = "SELECT id, vector FROM passages WHERE id IN ({marks})"
        for pid, blob in self.select_in(sql, [int(i) for i in ids]):
            out[position[pid]] = np.frombuffer(blob, dtype=np.float32)
        return out

    def iter_vectors(self, batch: int = 10000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        last = -1
        while True:
            with self.lock:
                rows = self.db.conn.execute(
                    "SELECT id, vector FROM passages WHERE id > ? ORDER BY id LIMIT ?",
                    [last, batch],
                ).fetchall()
            if not rows:
                return
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vectors = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            yield ids, vectors
            last = int(ids[-1])

    def iter_texts(self, batch: int = 2048) -> Iterator[tuple[list[int], list[str]]]:
        """(passage ids, texts) in id order, for re-embedding."""
        last = -1
        while True:
            with self.lock:
                rows = self.db.conn.execute(
                    "SELECT id, text FROM passages WHERE id > ? ORDER BY id LIMIT ?", [last, batch]
                ).fetchall()
            if not rows:
                return
            yield [r[0] for r in rows], [r[1] for r in rows]
            last = int(rows[-1][0])

    def set_vectors(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Replace stored vectors in place (re-embedding keeps passage ids)."""
        rows = [
            (np.ascontiguousarray(v, dtype=np.float32).tobytes(), int(i))
            for i, v in zip(ids, vectors)
        ]
        with self.write() as conn:
            conn.executemany("UPDATE passages SET vector = ? WHERE id = ?", rows)

    # -- reading for search -------------------------------------------------------------
    def passages_with_articles(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        if not ids:
            return {}
        found: dict[int, dict[str, Any]] = {}
        with self.lock:
            for start in range(0, len(ids), 900):
                chunk = [int(i) for i in ids[start : start + 900]]
                marks = ",".join("?" * len(chunk))
                sql = (
                    "SELECT p.id AS passage_id, p.position, p.text, p.article_id, "
                    "a.title, a.author, a.source, a.date, a.url, a.metadata "
                    f"FROM passages p JOIN articles a ON a.id = p.article_id WHERE p.id IN ({marks})"
                )
                for row in self.db.query(sql, chunk):
                    found[row["passage_id"]] = row
        return found

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.db.query(sql, params))

    def stats(self) -> dict[str, Any]:
        with self.lock:
            conn = self.db.conn
            articles = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            passages = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
            first, last = conn.execute("SELECT MIN(date), MAX(date) FROM articles").fetchone()
            copies = conn.execute("SELECT COUNT(*) FROM article_sources").fetchone()[0]
            clustered = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(n), 0) FROM (SELECT COUNT(*) AS n "
                "FROM article_dedup GROUP BY cluster_id HAVING n > 1)"
            ).fetchone()
            sources = conn.execute(
                "SELECT COALESCE(source, '(none)'), COUNT(*) FROM articles GROUP BY 1 "
                "ORDER BY 2 DESC LIMIT 20"
            ).fetchall()
        return {
            "articles": articles,
            "passages": passages,
            "first_date": first,
            "last_date": last,
            "sources": {name: count for name, count in sources},
            "exact_copies": copies,
            "near_duplicate_clusters": clustered[0],
            "clustered_articles": clustered[1],
        }


def decode_article(row: dict[str, Any]) -> dict[str, Any]:
    article = dict(row)
    try:
        article["metadata"] = json.loads(article.get("metadata") or "{}")
    except ValueError:
        article["metadata"] = {}
    return article
