"""All SQL about copies of one story, run inside the store's transactions.

One wire story published by many outlets is one result, not ten. Two levels, decided at ingest
from each article's fingerprint (ingest/fingerprint.py):

* exact copies: the same normalised text. The later one is not stored as an article; its id,
  source and URL are kept as another source of the first (`article_copies`).
* near copies: the same story lightly edited. Articles whose MinHash signatures are similar
  enough share a `cluster_id` (`article_dedup`); LSH band keys (`lsh_bands`) find the
  candidates. Search shows the best-ranked member of a cluster only.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..ingest.fingerprint import THRESHOLD, Fingerprint, band_keys, similarity
from ..records import ExactCopy
from .sql import select_in


# -- written inside a Store.write() transaction -----------------------------------------------
def assign(conn: sqlite3.Connection, article_id: str, fingerprint: Fingerprint) -> str:
    """Record an article's fingerprint and put it in a cluster; returns the cluster id.

    Called for each new or re-texted article inside the write transaction, so members written
    earlier in the same batch are found too.
    """
    leave(conn, [article_id])
    cluster = article_id
    signature = fingerprint.signature
    same_text = articles_by_text_key(conn, [fingerprint.key]).get(fingerprint.key)
    if same_text is not None:
        cluster = _cluster_of(conn, same_text) or cluster
    elif signature is not None:
        keys = band_keys(signature)
        marks = ",".join("?" * len(keys))
        candidates = [
            r[0]
            for r in conn.execute(
                f"SELECT DISTINCT article_id FROM lsh_bands WHERE band_key IN ({marks})", keys
            )
        ]
        best = 0.0
        sql = (
            "SELECT article_id, cluster_id, signature FROM article_dedup "
            "WHERE signature IS NOT NULL AND article_id IN ({marks})"
        )
        for _candidate, cluster_id, blob in select_in(conn, sql, candidates):
            score = similarity(signature, np.frombuffer(blob, dtype=np.uint32))
            if score >= THRESHOLD and score > best:
                best, cluster = score, cluster_id
    conn.execute(
        "INSERT INTO article_dedup (article_id, text_key, cluster_id, signature) "
        "VALUES (?, ?, ?, ?)",
        [article_id, fingerprint.key, cluster, None if signature is None else signature.tobytes()],
    )
    if signature is not None:
        conn.executemany(
            "INSERT INTO lsh_bands (band_key, article_id) VALUES (?, ?)",
            [(key, article_id) for key in band_keys(signature)],
        )
    return cluster


def leave(conn: sqlite3.Connection, article_ids: Sequence[str]) -> None:
    """Take articles out of their clusters (removed, or about to be re-texted).

    A cluster is named after its first member; when that member leaves, the cluster is renamed
    after the oldest remaining one, so the others stay together and the old name is free.
    """
    for article_id in article_ids:
        cluster = _cluster_of(conn, article_id)
        conn.execute("DELETE FROM article_dedup WHERE article_id = ?", [article_id])
        conn.execute("DELETE FROM lsh_bands WHERE article_id = ?", [article_id])
        if cluster != article_id:
            continue
        heir = conn.execute(
            "SELECT article_id FROM article_dedup WHERE cluster_id = ? ORDER BY rowid LIMIT 1",
            [cluster],
        ).fetchone()
        if heir:
            conn.execute(
                "UPDATE article_dedup SET cluster_id = ? WHERE cluster_id = ?", [heir[0], cluster]
            )


def add_copy(conn: sqlite3.Connection, copy: ExactCopy) -> bool:
    """Record an exact copy as another source of a stored article; False if already known."""
    found = conn.execute(
        "SELECT article_id FROM article_copies WHERE copy_id = ?", [copy.copy_id]
    ).fetchone()
    if found and found[0] == copy.article_id:
        return False
    forget_copy(conn, copy.copy_id)
    conn.execute(
        "INSERT INTO article_copies (article_id, copy_id, title, source, url, date, metadata) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            copy.article_id,
            copy.copy_id,
            copy.title,
            copy.source,
            copy.url,
            copy.date,
            json.dumps(copy.metadata or {}, ensure_ascii=False, default=str),
        ],
    )
    return True


def forget_copy(conn: sqlite3.Connection, copy_id: str) -> bool:
    """Forget one exact copy; False when no copy has that id."""
    return bool(conn.execute("DELETE FROM article_copies WHERE copy_id = ?", [copy_id]).rowcount)


def forget(conn: sqlite3.Connection, article_ids: Sequence[str]) -> None:
    """Everything known about removed articles' copies, including the copies kept on them."""
    leave(conn, article_ids)
    for article_id in article_ids:
        conn.execute("DELETE FROM article_copies WHERE article_id = ?", [article_id])


# -- reading ----------------------------------------------------------------------------------
def articles_by_text_key(conn: sqlite3.Connection, keys: Iterable[str]) -> dict[str, str]:
    """text key -> the oldest stored article with that exact text."""
    found: dict[str, str] = {}
    sql = (
        "SELECT text_key, article_id FROM article_dedup WHERE text_key IN ({marks}) ORDER BY rowid"
    )
    for key, article_id in select_in(conn, sql, set(keys)):
        found.setdefault(key, article_id)
    return found


def copy_owners(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, str]:
    """id of a recorded exact copy -> the article it is a copy of."""
    sql = "SELECT copy_id, article_id FROM article_copies WHERE copy_id IN ({marks})"
    return dict(select_in(conn, sql, ids))


def _cluster_of(conn: sqlite3.Connection, article_id: str) -> str | None:
    row = conn.execute(
        "SELECT cluster_id FROM article_dedup WHERE article_id = ?", [article_id]
    ).fetchone()
    return row[0] if row else None


def clusters_of(conn: sqlite3.Connection, article_ids: Sequence[str]) -> dict[str, str]:
    """article id -> cluster id (articles stored before dedup existed are their own cluster)."""
    ids = list(dict.fromkeys(article_ids))
    sql = "SELECT article_id, cluster_id FROM article_dedup WHERE article_id IN ({marks})"
    found = dict(select_in(conn, sql, ids))
    return {a: found.get(a, a) for a in ids}


def copies_of(conn: sqlite3.Connection, article_id: str) -> list[dict[str, Any]]:
    """Every other known copy of an article: exact copies kept on any cluster member, and the
    other members of its near-copy cluster, oldest first."""
    cluster = _cluster_of(conn, article_id)
    members = [article_id]
    if cluster is not None:
        members = [
            r[0]
            for r in conn.execute(
                "SELECT article_id FROM article_dedup WHERE cluster_id = ? ORDER BY rowid",
                [cluster],
            )
        ]
        if article_id not in members:
            members.insert(0, article_id)
    copies: list[dict[str, Any]] = []
    keys = ("id", "title", "source", "url", "date")
    for member in members:
        if member != article_id:
            row = conn.execute(
                "SELECT id, title, source, url, date FROM articles WHERE id = ?", [member]
            ).fetchone()
            if row:
                copies.append({**dict(zip(keys, row)), "kind": "near"})
        kind = "exact" if member == article_id else "near"
        for row in conn.execute(
            "SELECT copy_id, title, source, url, date FROM article_copies "
            "WHERE article_id = ? ORDER BY rowid",
            [member],
        ):
            copies.append({**dict(zip(keys, row)), "kind": kind})
    return copies


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """For `stats`: exact copies kept, clusters of near copies and the articles in them."""
    exact = conn.execute("SELECT COUNT(*) FROM article_copies").fetchone()[0]
    clusters, clustered = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(n), 0) FROM (SELECT COUNT(*) AS n "
        "FROM article_dedup GROUP BY cluster_id HAVING n > 1)"
    ).fetchone()
    return {
        "exact_copies": exact,
        "near_duplicate_clusters": clusters,
        "clustered_articles": clustered,
    }
