"""Syndicated copies: one wire story published by many outlets is one result, not ten.

Two levels, both decided at ingest and kept in SQLite so later ingests find earlier copies:

* exact duplicates: the same normalised body text. The second copy is not stored as an article;
  its id, source and URL are recorded as an extra source of the first (`article_sources`).
* near duplicates: the same story lightly edited (a changed headline, a trimmed sentence). A
  MinHash signature over word shingles estimates Jaccard similarity; LSH band keys, indexed in
  SQLite (`lsh_bands`), find candidates without comparing against every stored article. Members
  share a `cluster_id` (in `article_dedup`), and search shows the best-ranked member only.

The MinHash is a few lines of numpy rather than a dependency: 120 permutations of 31-bit hashes,
20 bands of 6 rows (candidates from a Jaccard of about 0.6, verified at 0.8).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .sql import select_in

SHINGLE_WORDS = 5
NUM_PERM = 120
BANDS = 20
ROWS = NUM_PERM // BANDS
THRESHOLD = 0.8
MIN_BODY_WORDS = 25  # a shorter body is keyed with its title, so two stubs never merge
MIN_SHINGLES = 8  # too few shingles for a meaningful similarity: exact matches only
_PRIME = (1 << 31) - 1
_rng = np.random.RandomState(20240521)  # fixed: signatures must be comparable across runs
_A = _rng.randint(1, _PRIME, size=NUM_PERM).astype(np.uint64)
_B = _rng.randint(0, _PRIME, size=NUM_PERM).astype(np.uint64)
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def words_of(text: str) -> list[str]:
    """Case, accents' composition, punctuation and spacing do not make two texts different."""
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).lower())


def text_key(title: str, paragraphs: Sequence[str]) -> str:
    """Exact-duplicate key: the normalised body (outlets rewrite headlines, not wire text)."""
    body = words_of(" ".join(paragraphs))
    if len(body) < MIN_BODY_WORDS:
        body = words_of(title) + ["\x00"] + body
    return hashlib.sha256(" ".join(body).encode("utf-8")).hexdigest()


def minhash(words: Sequence[str]) -> np.ndarray | None:
    """MinHash signature of the word shingles, or None when the text is too short to compare."""
    k = SHINGLE_WORDS
    shingles = {" ".join(words[i : i + k]) for i in range(max(len(words) - k + 1, 0))}
    if len(shingles) < MIN_SHINGLES:
        return None
    hashes = np.fromiter(
        (zlib.crc32(s.encode("utf-8")) for s in shingles), dtype=np.uint64, count=len(shingles)
    )
    permuted = (hashes[:, None] * _A[None, :] + _B[None, :]) % _PRIME
    return permuted.min(axis=0).astype(np.uint32)


def band_keys(signature: np.ndarray) -> list[int]:
    """One 63-bit key per band; two articles sharing any key are near-duplicate candidates."""
    keys = []
    for band in range(BANDS):
        chunk = signature[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big") >> 1)
    return keys


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


@dataclass
class Fingerprint:
    """What dedup needs of one article, computed before the write transaction."""

    key: str
    signature: np.ndarray | None

    @classmethod
    def of(cls, title: str, paragraphs: Sequence[str]) -> Fingerprint:
        return cls(text_key(title, paragraphs), minhash(words_of(" ".join(paragraphs))))


def copy_of(article: Any, article_id: str) -> dict[str, Any]:
    """The row that records an exact copy as another source of a stored article."""
    return {
        "alias_id": article_id,
        "title": article.title,
        "source": article.source,
        "url": article.url,
        "date": article.date,
        "metadata": article.metadata,
    }


# -- inside a Store.write() transaction -------------------------------------------------------
def find_exact(conn: sqlite3.Connection, key: str) -> str | None:
    """The stored article with this exact text, if any."""
    row = conn.execute(
        "SELECT article_id FROM article_dedup WHERE text_key = ? ORDER BY rowid LIMIT 1", [key]
    ).fetchone()
    return row[0] if row else None


def assign(conn: sqlite3.Connection, article_id: str, fingerprint: Fingerprint) -> str:
    """Record an article's fingerprint and put it in a cluster; returns the cluster id.

    Called for each new or re-texted article inside the write transaction, so members written
    earlier in the same batch are found too.
    """
    leave(conn, [article_id])
    cluster = article_id
    signature = fingerprint.signature
    same_text = find_exact(conn, fingerprint.key)
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
        for _candidate, cluster_id, blob in _signatures(conn, candidates):
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


def _cluster_of(conn: sqlite3.Connection, article_id: str) -> str | None:
    row = conn.execute(
        "SELECT cluster_id FROM article_dedup WHERE article_id = ?", [article_id]
    ).fetchone()
    return row[0] if row else None


def _signatures(conn: sqlite3.Connection, ids: list[str]):
    sql = (
        "SELECT article_id, cluster_id, signature FROM article_dedup "
        "WHERE signature IS NOT NULL AND article_id IN ({marks})"
    )
    return select_in(conn, sql, ids)


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


def add_source(conn: sqlite3.Connection, article_id: str, alias: dict[str, Any]) -> bool:
    """Record an exact copy as another source of a stored article; False if already known."""
    found = conn.execute(
        "SELECT article_id FROM article_sources WHERE alias_id = ?", [alias["alias_id"]]
    ).fetchone()
    if found and found[0] == article_id:
        return False
    conn.execute("DELETE FROM article_sources WHERE alias_id = ?", [alias["alias_id"]])
    conn.execute(
        "INSERT INTO article_sources (article_id, alias_id, title, source, url, date, metadata) "
        "VALUES (:article_id, :alias_id, :title, :source, :url, :date, :metadata)",
        {
            **alias,
            "article_id": article_id,
            "metadata": json.dumps(alias.get("metadata") or {}, ensure_ascii=False, default=str),
        },
    )
    return True


def forget(conn: sqlite3.Connection, article_ids: Sequence[str]) -> None:
    """Everything dedup knows about removed articles, including the copies recorded on them."""
    leave(conn, article_ids)
    for article_id in article_ids:
        conn.execute("DELETE FROM article_sources WHERE article_id = ?", [article_id])


# -- reading ----------------------------------------------------------------------------------
def clusters_of(conn: sqlite3.Connection, article_ids: Sequence[str]) -> dict[str, str]:
    """article id -> cluster id (articles stored before dedup existed are their own cluster)."""
    ids = list(dict.fromkeys(article_ids))
    sql = "SELECT article_id, cluster_id FROM article_dedup WHERE article_id IN ({marks})"
    found = dict(select_in(conn, sql, ids))
    return {a: found.get(a, a) for a in ids}


def copies_of(conn: sqlite3.Connection, article_id: str) -> list[dict[str, Any]]:
    """Every other known copy of an article: exact copies recorded on any cluster member, and
    the other members of its near-duplicate cluster, oldest first."""
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
    for member in members:
        if member != article_id:
            row = conn.execute(
                "SELECT id, title, source, url, date FROM articles WHERE id = ?", [member]
            ).fetchone()
            if row:
                copies.append(_copy(row, "near"))
        for row in conn.execute(
            "SELECT alias_id, title, source, url, date FROM article_sources "
            "WHERE article_id = ? ORDER BY rowid",
            [member],
        ):
            copies.append(_copy(row, "exact" if member == article_id else "near"))
    return copies


def _copy(row: Sequence[Any], kind: str) -> dict[str, Any]:
    keys = ("id", "title", "source", "url", "date")
    return {**dict(zip(keys, row)), "kind": kind}


def source_label(item: dict[str, Any]) -> str:
    """What "also in" names: the outlet, else the URL's site, else the id."""
    from .urls import domain_of

    return item.get("source") or domain_of(item.get("url")) or str(item.get("id"))


def also_in(own: dict[str, Any], copies: list[dict[str, Any]]) -> list[str]:
    """Distinct outlets of the other copies, the hit's own outlet excluded."""
    mine = source_label(own)
    labels = [source_label(c) for c in copies]
    return [label for label in dict.fromkeys(labels) if label != mine]


def collapse(
    conn: sqlite3.Connection, ranked: list[tuple[int, float]], article_of: dict[int, str]
) -> list[tuple[int, float]]:
    """Keep the best-ranked hit of each cluster (ranked holds one passage per article).

    `article_of` maps passage id -> article id (the search's grouping step looked it up).
    """
    ids = [pid for pid, _ in ranked]
    clusters = clusters_of(conn, [article_of[pid] for pid in ids if pid in article_of])
    seen: set[str] = set()
    kept = []
    for pid, score in ranked:
        article_id = article_of.get(pid)
        if article_id is None:
            continue
        if clusters[article_id] in seen:
            continue
        seen.add(clusters[article_id])
        kept.append((pid, score))
    return kept


def attach_copies(conn: sqlite3.Connection, hits: Sequence[Any]) -> None:
    """Fill each hit's `copies` and `also_in` (the outlets that ran the same story)."""
    for hit in hits:
        hit.copies = copies_of(conn, hit.article["id"])
        hit.also_in = also_in(hit.article, hit.copies)
