"""Search: retrieve candidates (vector and keyword), fuse, group by article, collapse copies,
page, snippet.

Both retrievers search only the passages that pass the filters, and both return a fixed-depth
candidate list, so the final ranking of a query does not depend on which page is asked for:
page 2 always continues page 1. The searcher owns no storage: the facade hands it the store's
reads (`PassageCatalog`), a keyword retriever and the vector search.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from .collapse import Ranked, also_in, collapse, group_by_article
from .filters import Filters
from .fusion import HYBRID_WEIGHTS, RRF_K, reciprocal_rank_fusion
from .request import CANDIDATE_DEPTH, ArticleRef, Hit, SearchRequest, SearchResponse
from .snippets import make_snippet

RERANK_DEPTH = 50

# A reranker scores (query, passage texts) pairs, e.g. a cross-encoder; higher is better.
# None is packaged on PyPI for offline use today, so the default pipeline has none.
Reranker = Callable[[str, list[str]], list[float]]
KeywordSearch = Callable[[str, Filters, int], Ranked]
VectorSearch = Callable[[np.ndarray, int, "np.ndarray | None"], Ranked]
EncodeQuery = Callable[[str], np.ndarray]


class PassageCatalog(Protocol):
    """What search reads of the store (store/store.py implements it)."""

    def allowed_passages(self, filters: Filters) -> np.ndarray | None: ...

    def article_ids(self, passage_ids: Sequence[int]) -> dict[int, str]: ...

    def clusters_of(self, article_ids: Sequence[str]) -> dict[str, str]: ...

    def copies_of(self, article_id: str) -> list[dict[str, Any]]: ...

    def passages_with_articles(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]: ...


class Searcher:
    """Runs a SearchRequest; `vector_search`/`encode_query` may be None for keyword-only use."""

    def __init__(
        self,
        catalog: PassageCatalog,
        keyword_search: KeywordSearch,
        vector_search: VectorSearch | None = None,
        encode_query: EncodeQuery | None = None,
        *,
        rrf_k: int = RRF_K,
        reranker: Reranker | None = None,
    ) -> None:
        self.catalog = catalog
        self.keyword = keyword_search
        self.vector_search = vector_search
        self.encode_query = encode_query
        self.rrf_k = rrf_k
        self.reranker = reranker

    def semantic(self, query: str, allowed: np.ndarray | None, depth: int) -> Ranked:
        return self.vector_search(self.encode_query(query), depth, allowed)

    def rank(self, request: SearchRequest) -> Ranked:
        """All candidate passages for the query, best first."""
        depth = CANDIDATE_DEPTH
        filters = request.filters()
        if request.mode == "keyword":
            return self.keyword(request.query, filters, depth)
        allowed = self.catalog.allowed_passages(filters)
        semantic = self.semantic(request.query, allowed, depth)
        if request.mode == "semantic":
            return semantic
        keyword = self.keyword(request.query, filters, depth)
        return reciprocal_rank_fusion(
            [[pid for pid, _ in semantic], [pid for pid, _ in keyword]],
            k=self.rrf_k,
            weights=HYBRID_WEIGHTS,
        )

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        ranked = self.rank(request)
        others: dict[int, list[int]] = {}
        if request.group:
            article_of = self.catalog.article_ids([pid for pid, _ in ranked])  # used twice
            ranked, others = group_by_article(ranked, article_of)
        if self.reranker is not None:
            ranked = self.rerank(request.query, ranked)
        if request.group and request.collapse:  # after the final order: keep the best copy
            clusters = self.catalog.clusters_of([article_of[pid] for pid, _ in ranked])
            ranked = collapse(ranked, article_of, clusters)
        page = ranked[request.offset : request.offset + request.limit]
        rows = self.catalog.passages_with_articles([pid for pid, _ in page])
        hits = []
        for pid, score in page:
            row = rows.get(pid)
            if row is None:  # removed by another process since ranking
                continue
            hits.append(self.make_hit(row, score, request.query, others.get(pid, [])))
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(
            query=request.query,
            mode=request.mode,
            total=len(ranked),
            took_ms=round(took, 2),
            results=hits,
        )

    def make_hit(self, row: dict[str, Any], score: float, query: str, others: list[int]) -> Hit:
        snippet, spans = make_snippet(row["text"], query)
        article = {k: row[k] for k in ("title", "author", "source", "date", "url")}
        article["id"] = row["article_id"]
        copies = self.catalog.copies_of(row["article_id"])
        return Hit(
            passage_id=int(row["passage_id"]),
            score=float(score),
            text=row["text"],
            position=int(row["position"]),
            article=ArticleRef(**article),
            snippet=snippet,
            highlights=spans,
            other_passages=others,
            copies=copies,
            also_in=also_in(article, copies),
        )

    def rerank(self, query: str, ranked: Ranked) -> Ranked:
        """Reorder the first RERANK_DEPTH candidates by the reranker's scores."""
        head, tail = ranked[:RERANK_DEPTH], ranked[RERANK_DEPTH:]
        rows = self.catalog.passages_with_articles([pid for pid, _ in head])
        head = [(pid, score) for pid, score in head if pid in rows]
        scores = self.reranker(query, [rows[pid]["text"] for pid, _ in head])
        reranked = sorted(zip(head, scores), key=lambda pair: (-pair[1], pair[0][0]))
        return [(pid, float(score)) for (pid, _), score in reranked] + tail
