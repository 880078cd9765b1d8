"""The default hybrid ranking groups and collapses on arrays (search/searcher.py's
`by_article`, over search/owners.py's article codes): it answers exactly as grouping and
collapsing the ranked passages one by one (search/collapse.py) does, and the same whether the
codes and leads come from the passage map or from the store's SQL."""

from __future__ import annotations

from newsarchive.archive import Archive
from newsarchive.archive.search.collapse import collapse, group_by_article
from newsarchive.archive.search.matching import MatchScope
from newsarchive.archive.search.request import SearchRequest
from newsarchive.archive.search.searcher import Candidates, Searcher

from conftest import NEWS, SEED, searcher_like

STORY = " ".join(
    f"Grain traders in port {i} said wheat shipments grew by {i} percent this week."
    for i in range(12)
)
COPIES = [
    {"id": "wheat-a", "body": STORY, "date": "1987-03-02", "source": "Reuters"},
    {"id": "wheat-b", "body": STORY + " Buyers were pleased.", "source": "AP"},
]
QUERIES = ("wheat shipments", "oil prices in Iraq", "late goal", "grain traders said")
OPTIONS = ({}, {"collapse": False}, {"since": "1987-01-01"}, {"source": "AP"})


def one_by_one(searcher: Searcher, request: SearchRequest) -> Candidates:
    """Grouping, collapsing and the matching scope from the ranked passages, as they are
    read for any other ranking (rrf, a reranker)."""
    ranking = searcher.ranking(request)
    ranked, article_of = ranking.passages(), ranking.article_of()
    ranked, others = group_by_article(ranked, article_of)
    best = {article_of[pid]: (pid, score) for pid, score in ranked}
    if request.collapse:
        clusters = searcher.catalog.clusters_of([article_of[pid] for pid, _ in ranked])
        ranked = collapse(ranked, article_of, clusters)
    scope = searcher.match_scope(request, ranking.keyword, article_of)
    return Candidates(ranked, others, best, scope)


def as_tuple(found: Candidates) -> tuple:
    scope: MatchScope = found.scope
    return found.ranked, found.others, found.best, scope.candidates


def test_by_article_equals_grouping_one_passage_at_a_time(archive: Archive):
    archive.ingest_articles([dict(n) for n in NEWS] + [dict(c) for c in COPIES])
    archive.ingest([SEED])
    mapped = archive.searcher()
    stored = searcher_like(mapped, catalog=archive.store, leads=archive.leads)
    collapsed = several = 0
    for query in QUERIES:
        for options in OPTIONS:
            request = SearchRequest.make(query, **options)
            mine = mapped.candidates(request)
            assert as_tuple(mine) == as_tuple(one_by_one(mapped, request))
            assert as_tuple(stored.candidates(request)) == as_tuple(mine)
            assert mapped.search(request).results == stored.search(request).results
            collapsed += len(mine.best) - len(mine.ranked)
            several += sum(len(v) for v in mine.others.values())
    assert collapsed > 0 and several > 0  # copies were collapsed; articles had several passages
