"""Search: retrieve candidates (vector and keyword), fuse, group by article, collapse copies,
page (relevance order, or date order over the matching set), snippet; with the matching set's
total, facets and timeline (search/matching.py) when asked.

Both retrievers search only the passages that pass the filters, and both return a fixed-depth
candidate list, so the final ranking of a query does not depend on which page is asked for:
page 2 always continues page 1. The searcher owns no storage: the facade hands it the store's
reads (`PassageCatalog`), a keyword retriever and the vector search.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .collapse import Ranked, also_in, collapse, group_by_article
from .facets import Facet, facets_of
from .filters import Filters
from .fusion import (
    HYBRID_WEIGHTS,
    PLAIN_RRF_K,
    RRF_K,
    Fused,
    fuse_articles,
    passage_fusion,
    reciprocal_rank_fusion,
)
from .matching import MatchScope, MatchSets
from .order import best_by_words, date_page, relevance_page
from .owners import Owners, first_seen
from .request import CANDIDATE_DEPTH, ArticleRef, Hit, SearchRequest, SearchResponse
from .snippets import make_snippet
from .timeline import timeline_of

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

    def owners(self, passage_ids: np.ndarray) -> Owners:
        """The articles and clusters of these passages as codes (search/owners.py)."""
        ...

    def copies_of(self, article_id: str) -> list[dict[str, Any]]: ...

    def passages_with_articles(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]: ...


_SIDE_READS: ThreadPoolExecutor | None = None
_SIDE_LOCK = threading.Lock()


def side_reads() -> ThreadPoolExecutor:
    """The few threads that run a search's lead query beside its retrievals (made once)."""
    global _SIDE_READS
    with _SIDE_LOCK:
        if _SIDE_READS is None:
            _SIDE_READS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lead-reads")
        return _SIDE_READS


class LeadEvidence(Protocol):
    """What the default hybrid ranking reads of the articles' leads (store/leads.py)."""

    def for_owners(
        self, query_vector: np.ndarray, owners: Owners
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """By article code: the cosine of the query and each article's lead (0.0 without
        one; None when no article has one), and each article's first passage id (-1)."""
        ...

    def keyword(
        self, query: str, filters: Filters, depth: int = ...
    ) -> list[tuple[str, float]]: ...


@dataclass
class Ranking:
    """What `Searcher.ranking` found: the keyword candidates (None in semantic mode), and the
    ranking itself, either passages best first (`ranked`) or, for the default hybrid ranking
    by article, `fused` over the candidates' `owners`."""

    keyword: Ranked | None
    ranked: Ranked | None = None
    fused: Fused | None = None
    owners: Owners | None = None

    def passages(self) -> Ranked:
        """Every candidate passage, best first."""
        return self.fused.ranked() if self.fused is not None else list(self.ranked or [])

    def article_of(self) -> dict[int, str]:
        """passage id -> article id for the candidates, where ranking read it (else empty)."""
        if self.owners is None:
            return {}
        names, codes = self.owners.articles, self.owners.codes.tolist()
        return {p: names[c] for p, c in zip(self.owners.passage_ids.tolist(), codes) if c >= 0}


@dataclass
class Candidates:
    """What ranking found for one request."""

    ranked: Ranked  # what relevance order pages through: grouped, reranked, collapsed
    others: dict[int, list[int]]  # a result passage -> its article's other matching passages
    best: dict[str, tuple[int, float]]  # article -> its best candidate passage and score
    scope: MatchScope  # the request's matching set


class Searcher:
    """Runs a SearchRequest; `vector_search`/`encode_query` may be None for keyword-only use.

    `matches` answers the matching set (total, date order, facets, timeline); `leads` the
    articles' leads for the default hybrid ranking (without it, that ranking uses passages
    only)."""

    def __init__(
        self,
        catalog: PassageCatalog,
        keyword_search: KeywordSearch,
        vector_search: VectorSearch | None = None,
        encode_query: EncodeQuery | None = None,
        *,
        matches: MatchSets,
        rrf_k: int = RRF_K,
        reranker: Reranker | None = None,
        leads: LeadEvidence | None = None,
        pool: Executor | None = None,
    ) -> None:
        self.pool = pool  # runs the vector search beside the keyword search (hybrid)
        self.catalog = catalog
        self.matches = matches
        self.keyword = keyword_search
        self.vector_search = vector_search
        self.encode_query = encode_query
        self.rrf_k = rrf_k
        self.reranker = reranker
        self.leads = leads

    def semantic(self, query: str, allowed: np.ndarray | None, depth: int) -> Ranked:
        return self.vector_search(self.encode_query(query), depth, allowed)

    def rank(self, request: SearchRequest) -> tuple[Ranked, Ranked | None]:
        """All candidate passages for the query, best first, and the keyword candidates among
        them (None in semantic mode, which has none)."""
        ranking = self.ranking(request)
        return ranking.passages(), ranking.keyword

    def ranking(self, request: SearchRequest) -> Ranking:
        """`rank`, with the candidates' articles when ranking needed them, so they are read
        once per search."""
        depth = CANDIDATE_DEPTH
        filters = request.filters()
        if request.mode == "keyword":
            keyword = self.keyword(request.query, filters, depth)
            return Ranking(keyword, ranked=keyword)
        lead_keyword = None
        if request.mode == "hybrid" and request.fusion == "score" and request.group and self.leads:
            # Needs only the query: read beside the two retrievals (SQLite and FAISS release
            # the GIL), so the leads add little to a query's wall time.
            lead_keyword = side_reads().submit(self.leads.keyword, request.query, filters)
        allowed = self.catalog.allowed_passages(filters)
        query_vector = self.encode_query(request.query)
        if request.mode == "semantic":
            return Ranking(None, ranked=self.vector_search(query_vector, depth, allowed))
        # After encoding (which fills both cores), FAISS at one thread on the pool's thread and
        # the keyword search on this one run side by side: neither holds the GIL.
        if self.pool is not None:
            pending = self.pool.submit(self.vector_search, query_vector, depth, allowed)
            keyword = self.keyword(request.query, filters, depth)
            semantic = pending.result()
        else:
            semantic = self.vector_search(query_vector, depth, allowed)
            keyword = self.keyword(request.query, filters, depth)
        if request.fusion == "score":
            return self.score_fusion(request, query_vector, semantic, keyword, lead_keyword)
        k, weights = (
            (self.rrf_k, HYBRID_WEIGHTS) if request.fusion == "rrf" else (PLAIN_RRF_K, None)
        )
        fused = reciprocal_rank_fusion(
            [[pid for pid, _ in semantic], [pid for pid, _ in keyword]], k=k, weights=weights
        )
        return Ranking(keyword, ranked=fused)

    def score_fusion(
        self,
        request: SearchRequest,
        query_vector: np.ndarray,
        semantic: Ranked,
        keyword: Ranked,
        lead_keyword: Future | None = None,
    ) -> Ranking:
        """The default hybrid ranking (search/fusion.py): passages by their article's score
        from best passage, first passage and lead; passages alone when `group` is off."""
        if not request.group:
            fused = passage_fusion(semantic, keyword, keyword_depth=CANDIDATE_DEPTH)
            return Ranking(keyword, ranked=fused)
        owners = self.catalog.owners(first_seen(semantic, keyword))
        if self.leads is None:
            fused = fuse_articles(semantic, keyword, owners, keyword_depth=CANDIDATE_DEPTH)
            return Ranking(keyword, fused=fused, owners=owners)
        cosines, first_passage = self.leads.for_owners(query_vector, owners)
        leads = (
            lead_keyword.result()
            if lead_keyword is not None
            else self.leads.keyword(request.query, request.filters())
        )
        fused = fuse_articles(
            semantic,
            keyword,
            owners,
            first_passage,
            cosines,
            leads,
            keyword_depth=CANDIDATE_DEPTH,
        )
        return Ranking(keyword, fused=fused, owners=owners)

    def candidates(self, request: SearchRequest) -> Candidates:
        """The ranked candidates: grouped by article, reranked, collapsed."""
        ranking = self.ranking(request)
        if ranking.fused is not None and self.reranker is None:
            return self.by_article(request, ranking)
        ranked, keyword, article_of = ranking.passages(), ranking.keyword, ranking.article_of()
        if not article_of:
            article_of = self.catalog.article_ids([pid for pid, _ in ranked])  # used 3 times
        others: dict[int, list[int]] = {}
        if request.group:
            ranked, others = group_by_article(ranked, article_of)
        if self.reranker is not None:
            ranked = self.rerank(request.query, ranked)
        best: dict[str, tuple[int, float]] = {}
        for pid, score in ranked:
            if pid in article_of:
                best.setdefault(article_of[pid], (pid, score))
        if request.group and request.collapse:  # after the final order: keep the best copy
            clusters = self.catalog.clusters_of([article_of[pid] for pid, _ in ranked])
            ranked = collapse(ranked, article_of, clusters)
        scope = self.match_scope(request, keyword, article_of)
        return Candidates(ranked, others, best, scope)

    def by_article(self, request: SearchRequest, ranking: Ranking) -> Candidates:
        """`candidates` for a ranking already grouped by article (`fuse_articles`): each
        article's shown passage, collapsed by cluster of copies, on arrays. The same answer
        as grouping and collapsing the ranked passages (search/collapse.py)."""
        fused, owners = ranking.fused, ranking.owners
        assert fused is not None and owners is not None
        shown = np.flatnonzero(fused.shown)
        heads, codes = fused.ids[shown], fused.codes[shown]
        head_ids, scores = heads.tolist(), fused.scores[shown].tolist()
        head_of = np.zeros(len(owners.articles), dtype=np.int64)
        head_of[codes] = heads
        others: dict[int, list[int]] = {pid: [] for pid in head_ids}
        rest = np.flatnonzero(~fused.shown)
        for pid, head in zip(fused.ids[rest].tolist(), head_of[fused.codes[rest]].tolist()):
            others[head].append(pid)
        names = owners.articles
        best = {names[c]: pair for c, pair in zip(codes.tolist(), zip(head_ids, scores))}
        kept = shown
        if request.collapse:  # the best-ranked article of each cluster of copies
            _, first = np.unique(owners.clusters[codes], return_index=True)
            kept = shown[np.sort(first)]
        ranked = list(zip(fused.ids[kept].tolist(), fused.scores[kept].tolist()))
        matched = owners.codes_of([pid for pid, _ in ranking.keyword or []])
        matched = matched[matched >= 0]
        _, first_seen_at = np.unique(matched, return_index=True)
        articles = tuple(names[c] for c in matched[np.sort(first_seen_at)].tolist())
        scope = MatchScope(request.query, request.filters(), articles)
        return Candidates(ranked, others, best, scope)

    def match_scope(
        self,
        request: SearchRequest,
        keyword: Ranked | None = None,
        article_of: dict[int, str] | None = None,
    ) -> MatchScope:
        """The request's matching set (search/matching.py): the articles holding every word of
        the query, and those of the keyword candidates (retrieved here unless given). It needs
        no model, so timelines, facets, exports and saved searches never load one."""
        if keyword is None:
            keyword = self.keyword(request.query, request.filters(), CANDIDATE_DEPTH)
        pids = [pid for pid, _ in keyword]
        known = article_of or {}
        missing = [pid for pid in pids if pid not in known]
        if missing:
            known = {**known, **self.catalog.article_ids(missing)}
        articles = dict.fromkeys(known[pid] for pid in pids if pid in known)
        return MatchScope(request.query, request.filters(), tuple(articles))

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        early = None
        if request.sort == "relevance" and not (request.facets or request.timeline):
            # Part (a) of the total needs only the query: found beside the retrievals.
            early = side_reads().submit(self.matches.every_word, request.query)
        found = self.candidates(request)
        scope = found.scope
        key = request.order_key()
        page: Ranked = []
        cursor = None
        if request.sort == "relevance":
            page, cursor = relevance_page(
                found.ranked, request.offset, request.after, request.limit, key
            )
        facets: dict[str, Facet] = {}
        timeline = None
        if request.sort == "relevance" and not (request.facets or request.timeline):
            total = self.matches.count(scope, early.result() if early is not None else None)
        else:
            with self.matches.open(scope) as view:
                total = view.total
                if request.sort != "relevance":
                    rows, cursor = date_page(view, request.sort, request.after, request.limit, key)
                facets = facets_of(view, request.facets, request.facet_size)
                if request.timeline:
                    timeline = timeline_of(view, request.timeline)
            if request.sort != "relevance":
                page = self.best_passages(rows, found, request.query)
        hits = self.make_hits(page, request.query, found.others)
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(
            query=request.query,
            mode=request.mode,
            sort=request.sort,
            total=total,
            pageable=len(found.ranked),
            took_ms=round(took, 2),
            results=hits,
            next=cursor,
            facets=facets,
            timeline=timeline,
        )

    def best_passages(self, rows: list[dict[str, Any]], found: Candidates, query: str) -> Ranked:
        """Each date-ordered article's passage to show: its best candidate, else by words."""
        unranked = [row["id"] for row in rows if row["id"] not in found.best]
        by_words = best_by_words(self.matches.passages_of(unranked), query) if unranked else {}
        page: Ranked = []
        for row in rows:
            if row["id"] in found.best:
                page.append(found.best[row["id"]])
            elif row["id"] in by_words:
                page.append((by_words[row["id"]], 0.0))
        return page

    def make_hits(self, page: Ranked, query: str, others: dict[int, list[int]]) -> list[Hit]:
        rows = self.catalog.passages_with_articles([pid for pid, _ in page])
        hits = []
        for pid, score in page:
            row = rows.get(pid)
            if row is None:  # removed by another process since ranking
                continue
            hits.append(self.make_hit(row, score, query, others.get(pid, [])))
        return hits

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
