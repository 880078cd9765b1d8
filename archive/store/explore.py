"""The SQL of exploring: the matching set (search/matching.py) and what is counted over it.

A request materialises its matching set once, inside one read transaction, as a temporary table
of its articles' rowid, id, date and source (read from a covering index, not the wide article
rows); the total, the per-day counts of a timeline, the source facet and date-ordered pages are
then SQL over that small table, and the other facets join the articles by rowid (`json_each`
over metadata), never Python loops over rows. The transaction is rolled back at the end, which
both empties the temporary table and releases the snapshot. Browsing (no query) reads the
articles table through the filters directly.

Part (a) of the set, the articles holding every word of the query (the words may be in
different passages of the article), is computed first, rarest term first (every_word.py), and
the count and the temporary table are both made from it, filters and generation bounds applied
here, so `total` and what `open` materialises agree. `reference_rows` keeps the same set in
plain SQL (one FTS5 match per term, intersected) for the tests and the benchmark.

A timeline's `all` (articles per day passing the filters, whatever the query) and a browse's
total change only when the archive does, so the last few are kept per (generation, filters).
"""

from __future__ import annotations

import bisect
import functools
import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from ..search.cursor import DateKey
from ..search.matching import EveryWord, MatchScope
from .every_word import NONE, articles_with_every_term
from .fts import fts_terms

if TYPE_CHECKING:
    from .store import Store

COLUMN_FACETS = ("source", "author")
ROW = "a.id, a.title, a.author, a.source, a.date, a.url, a.passage_count, a.metadata"
ROW_KEYS = ("id", "title", "author", "source", "date", "url", "passage_count", "metadata")
TERM_ARTICLES = (
    "SELECT p.article_id FROM passages p INDEXED BY passages_owner WHERE p.id IN "
    "(SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?)"
)
NARROW = "a.rowid, a.id, a.date, a.source"  # what the temporary table keeps of each article
MEMO_SIZE = 32
OwnersAt = Callable[[tuple[str, int, str], np.ndarray], "set[str] | None"]


def _generations(scope: MatchScope) -> tuple[str, list[Any]]:
    clause, params = "", []
    if scope.after_generation is not None:
        clause += " AND a.generation > ?"
        params.append(scope.after_generation)
    if scope.until_generation is not None:
        clause += " AND a.generation <= ?"
        params.append(scope.until_generation)
    return clause, params


def matching_rows(
    scope: MatchScope, every: tuple[str, list[Any]], columns: str = NARROW
) -> tuple[str, list[Any]]:
    """A SELECT of `columns` of the matching set's articles (a query's scope), and its
    parameters; `every` is part (a), a SELECT of the ids of the articles holding every term
    and its parameters (every_word.py), filtered here."""
    filters, filter_params = scope.filters.to_sql("a")
    generations, generation_params = _generations(scope)
    parts: list[str] = []
    params: list[Any] = []
    if every[0] != NONE:
        parts.append(
            f"SELECT {columns} FROM articles a INDEXED BY articles_id_date_source "
            f"WHERE a.id IN ({every[0]}) AND {filters}{generations}"
        )
        params += [*every[1], *filter_params, *generation_params]
    if scope.candidates:  # ranked with the filters already applied
        parts.append(
            f"SELECT {columns} FROM articles a INDEXED BY articles_id_date_source "
            "WHERE a.id IN (SELECT value FROM json_each(?))" + generations
        )
        params += [json.dumps(list(scope.candidates), ensure_ascii=False), *generation_params]
    if not parts:
        return f"SELECT {columns} FROM articles a WHERE 0", []
    return " UNION ".join(parts), params


def reference_rows(scope: MatchScope, columns: str = NARROW) -> tuple[str, list[Any]]:
    """The matching set in plain SQL, part (a) as one FTS5 match per term intersected: the
    definition `matching_rows` with every_word.py must agree with, kept for the tests and
    bench/count_1m.py (it costs in proportion to the commonest term's matches)."""
    terms = fts_terms(scope.query or "")
    every = (" INTERSECT ".join([TERM_ARTICLES] * len(terms)), terms) if terms else (NONE, [])
    return matching_rows(scope, every, columns)


def reference_count(conn: sqlite3.Connection, scope: MatchScope) -> int:
    """The size of a query's matching set by the plain SQL, as `count` computed it before
    every_word.py: article ids only when nothing but the query limits the set."""
    terms = fts_terms(scope.query or "")
    unlimited = scope.filters.is_empty() and scope.after_generation is None
    if unlimited and scope.until_generation is None:
        parts: list[str] = []
        params: list[Any] = []
        if terms:
            parts.append(" INTERSECT ".join([TERM_ARTICLES] * len(terms)))
            params += terms
        if scope.candidates:
            parts.append("SELECT value FROM json_each(?)")
            params.append(json.dumps(list(scope.candidates), ensure_ascii=False))
        # DISTINCT: a single term with no candidates listed an article once per passage
        select = "SELECT DISTINCT * FROM (" + (" UNION ".join(parts) or "SELECT NULL WHERE 0") + ")"
    else:
        select, params = reference_rows(scope, "a.rowid")
    return int(conn.execute(f"SELECT COUNT(*) FROM ({select})", params).fetchone()[0])


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One read snapshot across several statements (a no-op inside an open transaction)."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")


class MatchingView:
    """One matching set inside an open read transaction (search/matching.py's MatchView).

    `narrow` reads what the temporary table holds (rowid, id, date, source); `wide` joins the
    article rows for the other fields. Browsing reads the articles table for both.
    """

    def __init__(self, conn: sqlite3.Connection, scope: MatchScope, memo: Memo) -> None:
        self.conn = conn
        self.browse = scope.query is None
        self._filters = scope.filters.to_sql("a")
        self._memo = memo
        if self.browse:
            generations, generation_params = _generations(scope)
            self._narrow = self._wide = "articles a"
            self._rid = "a.rowid"
            self._where = self._filters[0] + generations
            self._params = [*self._filters[1], *generation_params]
        else:
            self._narrow = "temp.explore_match a"
            self._wide = "temp.explore_match m JOIN articles a ON a.rowid = m.rid"
            self._rid = "a.rid"
            self._where, self._params = "1", []
        count = f"SELECT COUNT(*) FROM {self._narrow} WHERE {self._where}"
        if self.browse:  # asked again on every page of a browse: kept per generation
            self.total = int(memo.get(conn, ("total", self._where), count, self._params)[0][0])
        else:
            self.total = int(conn.execute(count, self._params).fetchone()[0])
        self._days: list[tuple[str, int]] | None = None

    def days(self) -> list[tuple[str, int]]:
        if self._days is None:
            self._days = self.conn.execute(
                f"SELECT substr(a.date, 1, 10) AS d, COUNT(*) FROM {self._narrow} "
                f"WHERE {self._where} AND a.date IS NOT NULL GROUP BY d ORDER BY d",
                self._params,
            ).fetchall()
        return self._days

    def coverage(self, start: str, end: str) -> list[tuple[str, int]]:
        """Articles passing the filters per day in [start, end): for browsing, the matching
        set's own days."""
        if self.browse:
            days = self.days()
        else:
            filters, params = self._filters
            days = self._memo.get(
                self.conn,
                ("days", filters),
                "SELECT substr(a.date, 1, 10) AS d, COUNT(*) FROM articles a "
                f"WHERE a.date IS NOT NULL AND {filters} GROUP BY d ORDER BY d",
                params,
            )
        keys = [day for day, _ in days]
        return days[bisect.bisect_left(keys, start[:10]) : bisect.bisect_left(keys, end[:10])]

    def facet(self, field: str, size: int) -> tuple[list[tuple[str, int]], int, int]:
        if field in COLUMN_FACETS:  # one value per article: counted = with a value
            table = self._narrow if field == "source" else self._wide
            rows = self.conn.execute(
                f"WITH g AS (SELECT a.{field} AS v, COUNT(*) AS n FROM {table} "
                f"WHERE {self._where} AND a.{field} IS NOT NULL AND a.{field} != '' GROUP BY v) "
                "SELECT v, n, (SELECT SUM(n) FROM g) FROM g ORDER BY n DESC, v LIMIT ?",
                [*self._params, size],
            ).fetchall()
            counted = rows[0][2] if rows else 0
            return [(v, n) for v, n, _ in rows], counted, counted
        path = f'$."{field}"'  # the name is checked (search/facets.py): no quote can be in it
        rows = self.conn.execute(
            f"WITH e AS (SELECT a.rowid AS r, CAST(j.value AS TEXT) AS v "
            f"FROM {self._wide}, json_each(a.metadata, ?) j WHERE {self._where} "
            "AND j.type NOT IN ('object', 'array', 'null') AND CAST(j.value AS TEXT) != ''), "
            "g AS (SELECT v, COUNT(DISTINCT r) AS n FROM e GROUP BY v) "
            "SELECT v, n, (SELECT SUM(n) FROM g), (SELECT COUNT(DISTINCT r) FROM e) "
            "FROM g ORDER BY n DESC, v LIMIT ?",
            [path, *self._params, size],
        ).fetchall()
        if not rows:
            return [], 0, 0
        return [(v, n) for v, n, _, _ in rows], rows[0][2], rows[0][3]

    def page(self, order: str, after: DateKey | None, limit: int) -> list[dict[str, Any]]:
        """Date order by keyset: dated articles by (date, id), then the undated ones by id."""
        direction, compare = ("DESC", "<") if order == "newest" else ("ASC", ">")
        rows: list[tuple] = []
        if after is None or after.date is not None:
            keyset, params = "", []
            if after is not None:
                keyset, params = f" AND (a.date, a.id) {compare} (?, ?)", [after.date, after.id]
            rows = self._rows(
                f"a.date IS NOT NULL{keyset}",
                f"a.date {direction}, a.id {direction}",
                params,
                limit,
            )
        if len(rows) < limit:
            keyset, params = "", []
            if after is not None and after.date is None:
                keyset, params = f" AND a.id {compare} ?", [after.id]
            rows += self._rows(
                f"a.date IS NULL{keyset}", f"a.id {direction}", params, limit - len(rows)
            )
        return [dict(zip(ROW_KEYS, row)) for row in rows]

    def _rows(self, condition: str, order: str, params: list[Any], limit: int) -> list[tuple]:
        """Ordered over the narrow set, then the page's article rows read."""
        return self.conn.execute(
            f"SELECT {ROW} FROM (SELECT {self._rid} AS k FROM {self._narrow} "
            f"WHERE {self._where} AND {condition} ORDER BY {order} LIMIT ?) "
            f"JOIN articles a ON a.rowid = k ORDER BY {order}",
            [*self._params, *params, limit],
        ).fetchall()


class Memo:
    """What depends only on the archive's content and some filters, kept per (generation,
    filters): the articles per day passing the filters (a timeline's `all`, whatever the query)
    and a browse's total, which paging asks again on every page. The last few are kept."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple, Any] = OrderedDict()

    def get(self, conn: sqlite3.Connection, key: tuple, sql: str, params: list[Any]) -> Any:
        generation = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        key = (generation[0] if generation else "0", *key, json.dumps(params, default=str))
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
        value = conn.execute(sql, params).fetchall()
        with self.lock:
            self.entries[key] = value
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value


class ExploreStore:
    """Matching sets and the other reads of exploring, on the store's read connections."""

    def __init__(self, store: Store, owners_at: OwnersAt | None = None) -> None:
        self.store = store
        self.memo = Memo()
        # passage ids -> their articles from an in-memory map, if it is at the given lineage
        # (the facade passes index/passage_map.py's): part (a) then maps matches without SQL
        self.owners_at = owners_at

    def _every(self, conn: sqlite3.Connection, query: str | None) -> tuple[str, list[Any]]:
        """Part (a) of a query's set, read in the open snapshot (every_word.py)."""
        owners = None
        if self.owners_at is not None:  # the lineage read in this snapshot
            owners = functools.partial(self.owners_at, self.store.lineage())
        return articles_with_every_term(conn, fts_terms(query or ""), owners)

    def every_word(self, query: str) -> EveryWord:
        """Part (a) of `query`'s set in a snapshot of its own, with the lineage it was read at
        (search/matching.py's `MatchSets.every_word`)."""
        with self.store.reading() as conn, snapshot(conn):
            at = self.store.lineage()  # on this thread's connection: this snapshot's
            select, params = self._every(conn, query)
        return EveryWord(query, select, tuple(params), at)

    def count(self, scope: MatchScope, early: EveryWord | None = None) -> int:
        """The size of the matching set, without materialising it; `early` (part (a) found
        beforehand by `every_word`) is used when it is of this query and this archive state."""
        with self.store.reading() as conn, snapshot(conn):
            if scope.query is None:
                filters, params = scope.filters.to_sql("a")
                generations, generation_params = _generations(scope)
                sql = f"SELECT COUNT(*) FROM articles a WHERE {filters}{generations}"
                return int(conn.execute(sql, [*params, *generation_params]).fetchone()[0])
            if (
                early is not None
                and early.query == scope.query
                and early.at == self.store.lineage()
            ):
                every = early.select, list(early.params)
            else:
                every = self._every(conn, scope.query)
            unlimited = scope.filters.is_empty() and scope.after_generation is None
            if unlimited and scope.until_generation is None:  # ids only, no article read
                select, params = every
                if scope.candidates:
                    select += " UNION SELECT value FROM json_each(?)"
                    params = [*params, json.dumps(list(scope.candidates), ensure_ascii=False)]
            else:
                select, params = matching_rows(scope, every, "a.rowid")
            return int(conn.execute(f"SELECT COUNT(*) FROM ({select})", params).fetchone()[0])

    @contextmanager
    def open(self, scope: MatchScope) -> Iterator[MatchingView]:
        """The matching set, materialised, inside one read snapshot; rolled back afterwards.

        It runs on a read connection (never waiting for a writer); the connection may write
        its own TEMP table while the block runs, nothing else.
        """
        with self.store.reading() as conn:
            conn.execute("PRAGMA query_only=0")
            try:
                conn.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS explore_match "
                    "(rid INTEGER PRIMARY KEY, id TEXT, date TEXT, source TEXT)"
                )
                conn.execute("BEGIN")
                try:
                    if scope.query is not None:
                        every = self._every(conn, scope.query)
                        select, params = matching_rows(scope, every)
                        conn.execute(
                            "INSERT OR IGNORE INTO temp.explore_match (rid, id, date, source) "
                            + select,
                            params,
                        )
                    yield MatchingView(conn, scope, self.memo)
                finally:
                    conn.execute("ROLLBACK")
            finally:
                conn.execute("PRAGMA query_only=1")

    # -- reads for results ------------------------------------------------------------------
    def passages_of(self, article_ids: Sequence[str]) -> list[tuple[int, str, int, str]]:
        """(passage id, article id, position, text) of these articles, in reading order."""
        sql = (
            "SELECT id, article_id, position, text FROM passages WHERE article_id IN ({marks}) "
            "ORDER BY article_id, position"
        )
        return self.store.select_in(sql, list(article_ids))

    def copies_of(self, article_id: str) -> list[dict[str, Any]]:
        """Every other known copy of an article (exact and near)."""
        return self.store.copies_of(article_id)

    def article_vectors(self, article_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, vectors) of one article."""
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT id, vector FROM passages WHERE article_id = ? ORDER BY position",
                [article_id],
            ).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return ids, np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def cluster_members(self, article_id: str) -> list[str]:
        """The articles in the same near-copy cluster, itself included."""
        with self.store.reading() as conn:
            rows = conn.execute(
                "SELECT d.article_id FROM article_dedup d JOIN article_dedup me "
                "ON me.cluster_id = d.cluster_id WHERE me.article_id = ?",
                [article_id],
            ).fetchall()
        return list(dict.fromkeys([article_id, *(r[0] for r in rows)]))

    def resolve(self, article_id: str) -> str | None:
        """The stored article an id names (an exact copy's id names the article it was kept
        on), or None."""
        with self.store.reading() as conn:
            found = conn.execute("SELECT 1 FROM articles WHERE id = ?", [article_id]).fetchone()
        return article_id if found else self.store.copy_owners([article_id]).get(article_id)
