"""The SQLite store: articles, passages, their vectors, and the FTS5 keyword index beside them.

This database is the source of truth. Every vector is kept here as a float32 blob so the vector
index can be rebuilt without re-embedding, and every write bumps a `generation` counter inside
the same transaction, so readers (and the FAISS file) can tell whether they are current.
Each generation also gets a random token (kept in `generations`), and the archive a random id:
together they are the archive's lineage, which the FAISS file records, so a database restored
from a backup is never paired with a newer index that merely has the same generation number.

Writes go through one connection (`write()`, under `lock`); reads go through a small pool of
read-only connections (`reading()`). In WAL mode a read never waits for a writer, in this
process or another: a write that waits for SQLite's lock holds no lock any read needs. A write
that cannot get SQLite's lock in time is `ArchiveBusy`; a full disk is `StorageFull`; a file that
is not a sound database is `ArchiveDamaged`, each one line for every face.
The SQL of exact and near copies is in dedup.py, the state of followed feeds in feeds.py,
keyword retrieval in fts.py and the articles' leads in leads.py.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlite_utils

from ..errors import ArchiveBusy, ArchiveDamaged, ArchiveError, StorageFull
from ..records import ArticleWrite, ExactCopy, StoredChange
from ..search.owners import Owners
from . import dedup, fields
from .leads import remove_leads, write_lead
from .outlets import outlet_name, record_aliases
from .schema import migrate, schema_version
from .sql import select_in

if TYPE_CHECKING:
    from ..search.filters import Filters

KEEP_GENERATIONS = 10_000  # tokens kept; an index file older than this is rebuilt, not trusted
READERS = 4  # read connections at most (each may cache up to 64 MB)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def translate(exc: sqlite3.Error, path: Path) -> Exception:
    """An SQLite error as the archive error a user can act on (or itself, if none fits)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    lowered = text.lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in lowered:
        return ArchiveBusy(
            f"{path.parent}: another process is writing to the archive; nothing was written, "
            "try again shortly"
        )
    if name == "SQLITE_FULL" or "disk is full" in lowered:
        return StorageFull(
            f"{path.parent}: the disk is full; this write was rolled back and nothing of it "
            "is stored (free some space and run the command again)"
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or any(
        w in lowered for w in ("malformed", "not a database", "corrupt")
    ):
        return damaged(path, text)
    if name.startswith("SQLITE_READONLY") or "readonly database" in lowered:
        return ArchiveError(f"{path}: the database is read-only here ({text})")
    if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) or "disk i/o error" in lowered:
        return ArchiveError(f"{path}: cannot read or write the database ({text})")
    return exc


def damaged(path: Path, problem: str) -> ArchiveDamaged:
    return ArchiveDamaged(
        f"{path}: the database is damaged ({problem}); `newsarchive check` says what is wrong, "
        "`newsarchive restore` brings back a backup"
    )


@contextmanager
def sqlite_errors(path: Path) -> Iterator[None]:
    """Raise SQLite's errors as archive errors (busy, disk full, damaged)."""
    try:
        yield
    except sqlite3.Error as exc:
        translated = translate(exc, path)
        if translated is exc:
            raise
        raise translated from exc


class Store:
    """One SQLite file in WAL mode, safe to share across threads.

    `lock_timeout` is how long a write waits for another writer (seconds) before `ArchiveBusy`.
    """

    def __init__(self, path: Path, *, lock_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_timeout = lock_timeout
        self.lock = threading.RLock()  # the write connection; reads never take it
        self._next_generation = 0
        self._next_token = ""
        self._idle: list[sqlite3.Connection] = []
        self._readers = threading.BoundedSemaphore(READERS)
        self._pool_lock = threading.Lock()
        self._local = threading.local()
        with sqlite_errors(self.path):
            conn = self._connect()
            self.db = sqlite_utils.Database(conn)
            with self.lock:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute(
                    "BEGIN IMMEDIATE"
                )  # one process migrates; the others wait, then see it
                try:
                    migrate(self.db)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise

    def _connect(self, *, reader: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=self.lock_timeout)
        # Searches read ~1,000 random passage rows; mapped pages and a 64 MB cache spare
        # a system call per page (at a million passages grouping went from 15 to 10 ms).
        conn.execute("PRAGMA mmap_size=8589934592")
        conn.execute("PRAGMA cache_size=-65536")
        if reader:
            conn.execute("PRAGMA query_only=1")
        return conn

    def close(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        self.db.conn.close()

    @property
    def conn(self) -> sqlite3.Connection:
        """The write connection (use it under `lock`, for writes; reads use `reading()`)."""
        return self.db.conn

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection of this thread's own while the block runs (nested blocks get
        the same one). Reads in WAL mode see the last commit and never wait for a writer."""
        held = getattr(self._local, "conn", None)
        if held is not None:
            with sqlite_errors(self.path):
                yield held
            return
        self._readers.acquire()
        try:
            with self._pool_lock:
                conn = self._idle.pop() if self._idle else None
            with sqlite_errors(self.path):
                if conn is None:
                    conn = self._connect(reader=True)
                self._local.conn = conn
                try:
                    yield conn
                finally:
                    self._local.conn = None
                    if conn.in_transaction:
                        conn.rollback()
            with self._pool_lock:
                self._idle.append(conn)
        finally:
            self._readers.release()

    def schema_version(self) -> int:
        with self.reading() as conn:
            return schema_version(sqlite_utils.Database(conn))

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.reading() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that is not archive content (no generation bump): meta, feeds."""
        with self.lock, sqlite_errors(self.path):
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def set_meta(self, values: dict[str, str]) -> None:
        """Write meta keys (no generation bump: not content)."""
        with self.transaction() as conn:
            for key, value in values.items():
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES(?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [key, value],
                )

    def delete_meta(self, key: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM meta WHERE key = ?", [key])

    def generation(self) -> int:
        return int(self.get_meta("generation", "0") or 0)

    # -- lineage (index/sync.py's VectorSource) ------------------------------------------
    def lineage(self) -> tuple[str, int, str]:
        """(archive id, generation, the generation's token), read together."""
        with self.reading() as conn:
            rows = dict(
                conn.execute(
                    "SELECT key, value FROM meta "
                    "WHERE key IN ('archive_id', 'generation', 'generation_token')"
                ).fetchall()
            )
        return (
            rows.get("archive_id", ""),
            int(rows.get("generation") or 0),
            rows.get("generation_token", ""),
        )

    def token_at(self, generation: int) -> str | None:
        """The token generation `generation` committed with (None: unknown or pruned)."""
        with self.reading() as conn:
            row = conn.execute(
                "SELECT token FROM generations WHERE generation = ?", [generation]
            ).fetchone()
        return row[0] if row else None

    def max_passage_id(self) -> int:
        """The largest passage id this database ever issued (AUTOINCREMENT's sequence)."""
        with self.reading() as conn:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'passages'").fetchone()
        return int(row[0]) if row else 0

    # -- writes -------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that also bumps the generation (with a new token); all or nothing.

        Inside it, `self._next_generation` is the generation it will commit, so a caller can
        tell whether another process wrote in between. A write waits up to `lock_timeout` for
        another writer (then `ArchiveBusy`), holding no lock that reads need.
        """
        with self.lock, sqlite_errors(self.path):
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
                self._next_generation = int((row or [0])[0]) + 1
                self._next_token = secrets.token_hex(8)
                yield conn
                conn.executemany(
                    "INSERT INTO meta(key, value) VALUES(?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [
                        ("generation", str(self._next_generation)),
                        ("generation_token", self._next_token),
                    ],
                )
                conn.execute(
                    "INSERT OR REPLACE INTO generations(generation, token, committed_at) "
                    "VALUES (?, ?, ?)",
                    [self._next_generation, self._next_token, _now()],
                )
                conn.execute(
                    "DELETE FROM generations WHERE generation < ?",
                    [self._next_generation - KEEP_GENERATIONS],
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite already rolled back after some errors
                    conn.execute("ROLLBACK")
                raise

    def _remove_passages(self, conn: sqlite3.Connection, article_id: str) -> list[int]:
        """Delete an article's passages, leaving a tombstone for each for the vector view."""
        old = [
            r[0] for r in conn.execute("SELECT id FROM passages WHERE article_id = ?", [article_id])
        ]
        conn.executemany(
            "INSERT INTO tombstones(passage_id, generation) VALUES (?, ?)",
            [(pid, self._next_generation) for pid in old],
        )
        conn.execute("DELETE FROM passages WHERE article_id = ?", [article_id])
        return old

    def save(
        self, writes: Sequence[ArticleWrite], copies: Sequence[ExactCopy] = ()
    ) -> StoredChange:
        """Store a batch in one transaction, with exact copies recorded as other sources."""
        removed: list[int] = []
        added_ids: list[int] = []
        added_vectors: list[np.ndarray] = []
        now = _now()
        with self.write() as conn:
            for write in writes:
                row = dict(write.row)
                metadata = row.get("metadata") or {}
                row["source"] = outlet_name(conn, row.get("source"), metadata)
                record_aliases(conn, row["source"], metadata)
                row["metadata"] = json.dumps(metadata, ensure_ascii=False, default=str)
                row["updated_at"] = now
                exists = conn.execute(
                    "SELECT metadata FROM articles WHERE id = ?", [row["id"]]
                ).fetchone()
                fields.recount(conn, exists[0] if exists else None, metadata)
                if write.passages is not None:
                    row["passage_count"] = len(write.passages)
                if exists:
                    assignments = ", ".join(f"{k} = :{k}" for k in row if k != "id")
                    conn.execute(f"UPDATE articles SET {assignments} WHERE id = :id", row)
                else:
                    row["ingested_at"] = now
                    row["generation"] = self._next_generation  # what a saved search calls new
                    # An id that was recorded as a copy of another article now has its own text.
                    dedup.forget_copy(conn, row["id"])
                    columns = ", ".join(row)
                    marks = ", ".join(":" + k for k in row)
                    conn.execute(f"INSERT INTO articles ({columns}) VALUES ({marks})", row)
                if write.passages is None:
                    continue
                if write.fingerprint is not None:
                    dedup.assign(conn, row["id"], write.fingerprint)
                removed.extend(self._remove_passages(conn, row["id"]))
                first_passage = None
                for passage in write.passages:
                    vector = np.ascontiguousarray(passage.vector, dtype=np.float32)
                    cursor = conn.execute(
                        "INSERT INTO passages (article_id, position, text, text_hash, vector, "
                        "heading) VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            passage.article_id,
                            passage.position,
                            passage.text,
                            passage.text_hash,
                            vector.tobytes(),
                            passage.heading,
                        ],
                    )
                    added_ids.append(int(cursor.lastrowid))
                    added_vectors.append(vector)
                    if passage.position == 0:
                        first_passage = int(cursor.lastrowid)
                write_lead(conn, row["id"], write.lead, first_passage)
            for copy in copies:
                copy.source = outlet_name(conn, copy.source, copy.metadata or {})
                dedup.add_copy(conn, copy)
            committed, token = self._next_generation, self._next_token
        dim = added_vectors[0].shape[0] if added_vectors else 0
        vectors = np.vstack(added_vectors) if added_vectors else np.zeros((0, dim), np.float32)
        return StoredChange(
            np.array(removed, dtype=np.int64),
            np.array(added_ids, dtype=np.int64),
            vectors,
            committed,
            token,
        )

    def remove(self, ids: Sequence[str]) -> tuple[list[str], StoredChange]:
        """Delete articles and their passages; returns the ids that existed and the change.

        An id recorded only as an exact copy of another article removes just that copy.
        """
        removed_articles: list[str] = []
        removed_passages: list[int] = []
        with self.write() as conn:
            for article_id in ids:
                found = conn.execute(
                    "SELECT metadata FROM articles WHERE id = ?", [article_id]
                ).fetchone()
                if not found:
                    if dedup.forget_copy(conn, article_id):
                        removed_articles.append(article_id)
                    continue
                fields.recount(conn, found[0], None)
                removed_passages.extend(self._remove_passages(conn, article_id))
                remove_leads(conn, [article_id])
                conn.execute("DELETE FROM articles WHERE id = ?", [article_id])
                dedup.forget(conn, [article_id])
                removed_articles.append(article_id)
            committed, token = self._next_generation, self._next_token
        change = StoredChange.removal(np.array(removed_passages, dtype=np.int64), committed, token)
        return removed_articles, change

    def set_vectors(
        self, ids: Sequence[int], vectors: np.ndarray, hashes: Sequence[str] | None = None
    ) -> None:
        """Replace stored vectors in place (re-embedding keeps passage ids), with the hashes
        of their new embedding inputs when those changed (ingest/embed.py's input_hash)."""
        with self.write() as conn:
            if hashes is None:
                rows = [
                    (np.ascontiguousarray(v, dtype=np.float32).tobytes(), int(i))
                    for i, v in zip(ids, vectors)
                ]
                conn.executemany("UPDATE passages SET vector = ? WHERE id = ?", rows)
                return
            rows_hashed = [
                (np.ascontiguousarray(v, dtype=np.float32).tobytes(), h, int(i))
                for i, v, h in zip(ids, vectors, hashes)
            ]
            # Only the vector and its hash: the keyword index's columns are untouched, yet
            # the update trigger re-indexes the row (same terms).
            conn.executemany(
                "UPDATE passages SET vector = ?, text_hash = ? WHERE id = ?", rows_hashed
            )

    # -- reads for planning an ingest (ingest/plan.py's StoredState) ---------------------
    def select_in(self, sql: str, values: Iterable[Any]) -> list[tuple]:
        """`select_in` on a read connection."""
        with self.reading() as conn:
            return select_in(conn, sql, values)

    def article_states(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """id -> (text_hash, meta_hash) for the ids already stored."""
        sql = "SELECT id, text_hash, meta_hash FROM articles WHERE id IN ({marks})"
        return {row[0]: (row[1], row[2]) for row in self.select_in(sql, ids)}

    def articles_by_text_key(self, keys: Iterable[str]) -> dict[str, str]:
        """text key -> the stored article with that exact text (the oldest one)."""
        with self.reading() as conn:
            return dedup.articles_by_text_key(conn, keys)

    def copy_owners(self, ids: Sequence[str]) -> dict[str, str]:
        """id of a recorded exact copy -> the article it is a copy of."""
        with self.reading() as conn:
            return dedup.copy_owners(conn, ids)

    def embedded_after(self, ids: Sequence[str], passage_id: int) -> set[str]:
        """The ids among `ids` whose passages were all written after passage `passage_id`."""
        sql = (
            "SELECT article_id FROM passages WHERE article_id IN ({marks}) "
            "GROUP BY article_id HAVING MIN(id) > ?"
        )
        with self.reading() as conn:
            return {r[0] for r in select_in(conn, sql, ids, params=[passage_id])}

    def vectors_by_text_hash(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors already computed for identical passage text, to skip re-embedding them."""
        sql = "SELECT text_hash, vector FROM passages WHERE text_hash IN ({marks})"
        return {
            h: np.frombuffer(blob, dtype=np.float32) for h, blob in self.select_in(sql, set(hashes))
        }

    # -- the vector view's source (index/sync.py's VectorSource) -------------------------
    def changes_since(self, generation: int, max_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids removed after `generation`, passage ids added above `max_id`).

        Passage ids only grow (AUTOINCREMENT), so anything new has an id above the largest
        one a reader already holds.
        """
        with self.reading() as conn:
            removed = conn.execute(
                "SELECT passage_id FROM tombstones WHERE generation > ?", [generation]
            ).fetchall()
            added = conn.execute(
                "SELECT id FROM passages WHERE id > ? ORDER BY id", [max_id]
            ).fetchall()
        return (
            np.array([r[0] for r in removed], dtype=np.int64),
            np.array([r[0] for r in added], dtype=np.int64),
        )

    def tombstones_pruned_through(self) -> int:
        return int(self.get_meta("tombstones_pruned_through", "0") or 0)

    def prune_tombstones(self, through: int) -> None:
        """Best effort: a writer holding the lock means the pruning waits for the next save."""
        if through <= self.tombstones_pruned_through():
            return
        try:
            with self.transaction() as conn:
                conn.execute("DELETE FROM tombstones WHERE generation <= ?", [through])
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES('tombstones_pruned_through', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = "
                    "MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                    [str(through)],
                )
        except ArchiveBusy:
            pass

    def passage_ids(self) -> np.ndarray:
        with self.reading() as conn:
            rows = conn.execute("SELECT id FROM passages ORDER BY id").fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def vectors_for(self, ids: Sequence[int], dimension: int) -> np.ndarray:
        out = np.zeros((len(ids), dimension), dtype=np.float32)
        position = {int(pid): i for i, pid in enumerate(ids)}
        sql = "SELECT id, vector FROM passages WHERE id IN ({marks})"
        for pid, blob in self.select_in(sql, [int(i) for i in ids]):
            out[position[pid]] = np.frombuffer(blob, dtype=np.float32)
        return out

    def iter_vectors(self, batch: int = 10000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) of every passage, in id order."""
        last = -1
        while True:
            with self.reading() as conn:
                rows = conn.execute(
                    "SELECT id, vector FROM passages WHERE id > ? ORDER BY id LIMIT ?",
                    [last, batch],
                ).fetchall()
            if not rows:
                return
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vectors = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            yield ids, vectors
            last = int(ids[-1])

    def iter_texts(self, batch: int = 2048) -> Iterator[tuple[list[int], list[str], list[str]]]:
        """(passage ids, texts, headings) in id order, for re-embedding."""
        last = -1
        while True:
            with self.reading() as conn:
                rows = conn.execute(
                    "SELECT id, text, heading FROM passages WHERE id > ? ORDER BY id LIMIT ?",
                    [last, batch],
                ).fetchall()
            if not rows:
                return
            yield [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
            last = int(rows[-1][0])

    # -- reads for search (search/searcher.py's PassageCatalog) ---------------------------
    def allowed_passages(self, filters: Filters) -> np.ndarray | None:
        """Ids of the passages whose articles pass the filters; None when there are none."""
        if filters.is_empty():
            return None
        clause, params = filters.to_sql("a")
        with self.reading() as conn:
            rows = conn.execute(
                f"SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id WHERE {clause}",
                params,
            ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def article_ids(self, passage_ids: Sequence[int]) -> dict[int, str]:
        """passage id -> article id, for the passages that still exist."""
        sql = "SELECT id, article_id FROM passages INDEXED BY passages_owner WHERE id IN ({marks})"
        return dict(self.select_in(sql, passage_ids))

    def clusters_of(self, article_ids: Sequence[str]) -> dict[str, str]:
        """article id -> the cluster of near copies it belongs to."""
        with self.reading() as conn:
            return dedup.clusters_of(conn, article_ids)

    def owners(self, passage_ids: np.ndarray) -> Owners:
        """The articles and clusters of these passages as codes (search/owners.py)."""
        article_of = self.article_ids(passage_ids.tolist())
        clusters = self.clusters_of(list(dict.fromkeys(article_of.values())))
        return Owners.of(passage_ids, article_of, clusters)

    def copies_of(self, article_id: str) -> list[dict[str, Any]]:
        """Every other known copy of an article (exact and near)."""
        with self.reading() as conn:
            return dedup.copies_of(conn, article_id)

    def metadata_fields(self) -> set[str]:
        """The metadata fields at least one article has (filters check names against them)."""
        with self.lock:
            return fields.present(self.conn)

    def passages_with_articles(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """passage id -> the passage with its article's fields, for a page of results."""
        found: dict[int, dict[str, Any]] = {}
        sql = (
            "SELECT p.id AS passage_id, p.position, p.text, p.article_id, "
            "a.title, a.author, a.source, a.date, a.url, a.metadata "
            "FROM passages p JOIN articles a ON a.id = p.article_id WHERE p.id IN ({marks})"
        )
        columns = (
            "passage_id position text article_id title author source date url metadata".split()
        )
        for row in self.select_in(sql, [int(i) for i in ids]):
            found[row[0]] = dict(zip(columns, row))
        return found

    def get_article(self, article_id: str) -> dict[str, Any] | None:
        """The stored article with its passages; an exact copy's id gives the article it was
        stored as, with `copy` naming the copy."""
        with self.reading() as conn:
            rows = _dicts(conn.execute("SELECT * FROM articles WHERE id = ?", [article_id]))
            if not rows:
                owner = dedup.copy_owners(conn, [article_id]).get(article_id)
                return None if owner is None else {**self.get_article(owner), "copy": article_id}
            article = decode_article(rows[0])
            article["cluster_id"] = dedup.clusters_of(conn, [article_id])[article_id]
            article["copies"] = dedup.copies_of(conn, article_id)
            article["passages"] = _dicts(
                conn.execute(
                    "SELECT id, position, text FROM passages WHERE article_id = ? ORDER BY position",
                    [article_id],
                )
            )
        return article

    def stats(self) -> dict[str, Any]:
        with self.reading() as conn:
            conn = conn
            articles = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            passages = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
            first, last = conn.execute("SELECT MIN(date), MAX(date) FROM articles").fetchone()
            sources = conn.execute(
                "SELECT COALESCE(source, '(none)'), COUNT(*) FROM articles GROUP BY 1 "
                "ORDER BY 2 DESC LIMIT 20"
            ).fetchall()
            copies = dedup.counts(conn)
        return {
            "articles": articles,
            "passages": passages,
            "first_date": first,
            "last_date": last,
            "sources": {name: count for name, count in sources},
            **copies,
        }


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def decode_article(row: dict[str, Any]) -> dict[str, Any]:
    article = dict(row)
    try:
        article["metadata"] = json.loads(article.get("metadata") or "{}")
    except ValueError:
        article["metadata"] = {}
    return article
