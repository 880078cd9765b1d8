"""Search: retrieve candidates (vector and keyword), fuse, group by article, page, snippet.

Both retrievers search only the passages that pass the filters, and both return a fixed-depth
candidate list, so the final ranking of a query does not depend on which page is asked for:
page 2 always continues page 1.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import dedup
from .filters import Filters
from .fusion import HYBRID_WEIGHTS, RRF_K, reciprocal_rank_fusion
from .models import Hit, InputError
from .snippets import STOPWORDS, make_snippet
from .store import Store

MODES = ("hybrid", "semantic", "keyword")
RERANK_DEPTH = 50

# A reranker scores (query, passage texts) pairs, e.g. a cross-encoder; higher is better.
# None is packaged on PyPI for offline use today, so the default pipeline has none.
Reranker = Callable[[str, list[str]], list[float]]
CANDIDATE_DEPTH = 500  # passages per retriever; also the deepest page reachable
MAX_QUERY_CHARS = 1000


@dataclass
class SearchRequest:
    query: str
    limit: int = 10
    offset: int = 0
    mode: str = "hybrid"
    filters: Filters = field(default_factory=Filters)
    group: bool = True  # one result per article
    collapse: bool = True  # one result per cluster of syndicated copies (needs group)

    def validate(self) -> None:
        if not self.query or not self.query.strip():
            raise InputError("query is empty")
        if len(self.query) > MAX_QUERY_CHARS:
            raise InputError(
                f"query is {len(self.query)} characters; the limit is {MAX_QUERY_CHARS}"
            )
        if self.mode not in MODES:
            raise InputError(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.limit < 1:
            raise InputError("limit must be at least 1")
        if self.offset < 0:
            raise InputError("offset must not be negative")


@dataclass
class SearchResponse:
    query: str
    mode: str
    total: int
    took_ms: float
    hits: list[Hit]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "mode": self.mode,
            "total": self.total,
            "took_ms": round(self.took_ms, 2),
            "results": [hit.to_dict() for hit in self.hits],
        }


def fts_terms(query: str) -> list[str]:
    """A user's words -> safe FTS5 terms: quoted phrases kept, every other word quoted.

    Raw user text is not valid FTS5 syntax in general (hyphens, colons, quotes), so every term
    is quoted; OR-ed together, BM25 then rewards passages that match more and rarer terms.
    """
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


class Searcher:
    """Runs a SearchRequest against the store, the vector index and the embedding model."""

    def __init__(
        self,
        store: Store,
        vector_search: Callable[[np.ndarray, int, np.ndarray | None], list[tuple[int, float]]],
        encode_query: Callable[[str], np.ndarray],
        rrf_k: int = RRF_K,
        reranker: Reranker | None = None,
    ) -> None:
        self.store = store
        self.vector_search = vector_search
        self.encode_query = encode_query
        self.rrf_k = rrf_k
        self.reranker = reranker

    def allowed_passages(self, filters: Filters) -> np.ndarray | None:
        if filters.is_empty():
            return None
        clause, params = filters.to_sql("a")
        rows = self.store.db.conn.execute(
            f"SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id WHERE {clause}",
            params,
        ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def semantic(
        self, query: str, allowed: np.ndarray | None, depth: int
    ) -> list[tuple[int, float]]:
        return self.vector_search(self.encode_query(query), depth, allowed)

    def keyword(self, query: str, filters: Filters, depth: int) -> list[tuple[int, float]]:
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
            params = []
        else:
            clause, params = filters.to_sql("a")
            sql = (
                "SELECT p.id, -bm25(passages_fts) AS score FROM passages_fts "
                "JOIN passages p ON p.id = passages_fts.rowid "
                "JOIN articles a ON a.id = p.article_id "
                f"WHERE passages_fts MATCH ? AND {clause} "
                "ORDER BY bm25(passages_fts), p.id LIMIT ?"
            )
        with self.store.lock:
            common = self.store.caches.setdefault("common_terms", CommonTerms())
            expression = " OR ".join(common.filter(self.store.db.conn, terms))
            rows = self.store.db.conn.execute(sql, [expression, *params, depth]).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def rank(self, request: SearchRequest) -> list[tuple[int, float]]:
        """All candidate passages for the query, best first."""
        depth = CANDIDATE_DEPTH
        if request.mode == "keyword":
            return self.keyword(request.query, request.filters, depth)
        with self.store.lock:
            allowed = self.allowed_passages(request.filters)
        semantic = self.semantic(request.query, allowed, depth)
        if request.mode == "semantic":
            return semantic
        keyword = self.keyword(request.query, request.filters, depth)
        return reciprocal_rank_fusion(
            [[pid for pid, _ in semantic], [pid for pid, _ in keyword]],
            k=self.rrf_k,
            weights=HYBRID_WEIGHTS,
        )

    def search(self, request: SearchRequest) -> SearchResponse:
        request.validate()
        started = time.perf_counter()
        ranked = self.rank(request)
        others: dict[int, list[int]] = {}
        article_of: dict[int, str] = {}
        if request.group:
            article_of = article_ids(self.store, ranked)  # looked up once, used twice
            ranked, others = group_by_article(self.store, ranked, article_of)
        if self.reranker is not None:
            ranked = self.rerank(request.query, ranked)
        if request.group and request.collapse:  # after the final order: keep the best copy
            with self.store.lock:
                ranked = dedup.collapse(self.store.db.conn, ranked, article_of)
        page = ranked[request.offset : request.offset + request.limit]
        rows = self.store.passages_with_articles([pid for pid, _ in page])
        hits = []
        for pid, score in page:
            row = rows.get(pid)
            if row is None:  # removed by another process since ranking
                continue
            hits.append(make_hit(row, score, request.query, others.get(pid, [])))
        with self.store.lock:
            dedup.attach_copies(self.store.db.conn, hits)
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(request.query, request.mode, len(ranked), took, hits)

    def rerank(self, query: str, ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Reorder the first RERANK_DEPTH candidates by the reranker's scores."""
        head, tail = ranked[:RERANK_DEPTH], ranked[RERANK_DEPTH:]
        rows = self.store.passages_with_articles([pid for pid, _ in head])
        head = [(pid, score) for pid, score in head if pid in rows]
        scores = self.reranker(query, [rows[pid]["text"] for pid, _ in head])
        reranked = sorted(zip(head, scores), key=lambda pair: (-pair[1], pair[0][0]))
        return [(pid, float(score)) for (pid, _), score in reranked] + tail


def article_ids(store: Store, ranked: list[tuple[int, float]]) -> dict[int, str]:
    """passage id -> article id for the ranked passages that still exist."""
    ids = [pid for pid, _ in ranked]
    sql = "SELECT id, article_id FROM passages INDEXED BY passages_owner WHERE id IN ({marks})"
    return dict(store.select_in(sql, ids))


def group_by_article(
    store: Store, ranked: list[tuple[int, float]], article_of: dict[int, str] | None = None
) -> tuple[list[tuple[int, float]], dict[int, list[int]]]:
    """Keep each article's best passage; remember the article's other matching passages."""
    if not ranked:
        return [], {}
    if article_of is None:
        article_of = article_ids(store, ranked)
    best: dict[str, int] = {}
    grouped: list[tuple[int, float]] = []
    others: dict[int, list[int]] = {}
    for pid, score in ranked:
        article_id = article_of.get(pid)
        if article_id is None:
            continue
        if article_id in best:
            others[best[article_id]].append(pid)
            continue
        best[article_id] = pid
        others[pid] = []
        grouped.append((pid, score))
    return grouped, others


def make_hit(row: dict[str, Any], score: float, query: str, others: list[int]) -> Hit:
    snippet, spans = make_snippet(row["text"], query)
    article = {
        "id": row["article_id"],
        "title": row["title"],
        "author": row["author"],
        "source": row["source"],
        "date": row["date"],
        "url": row["url"],
    }
    return Hit(
        passage_id=int(row["passage_id"]),
        score=float(score),
        text=row["text"],
        position=int(row["position"]),
        article=article,
        snippet=snippet,
        highlights=spans,
        other_passages=others,
    )
