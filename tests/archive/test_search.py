"""Search logic on the test embedder: filters before ranking, grouping, paging, snippets, bad
requests, evaluation, the reranker hook and the keyword cutoff. Ranking quality with the real
model is in tests/model/."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsarchive.archive import Archive, InputError

from conftest import NEWS, SEED, write_jsonl


@pytest.fixture
def loaded(archive: Archive, news_file: Path) -> Archive:
    archive.ingest([SEED, news_file])
    return archive


def test_results_group_by_article_unless_asked_for_passages(loaded: Archive):
    grouped = loaded.search("US troops in Iraq", limit=10)
    ids = [h.article.id for h in grouped.hits]
    assert len(ids) == len(set(ids))
    assert grouped.hits[0].other_passages  # the seed has other matching passages
    passages = loaded.search("US troops in Iraq", limit=10, group=False)
    assert [h.article.id for h in passages.hits[:3]] == ["000_4270a9efd2e10240"] * 3


def test_pages_continue_without_repeats_or_gaps(loaded: Archive):
    everything = [h.passage_id for h in loaded.search("Iraq", limit=30, group=False).hits]
    pages = []
    for offset in range(0, 30, 7):
        pages += [
            h.passage_id for h in loaded.search("Iraq", limit=7, offset=offset, group=False).hits
        ]
    assert pages == everything


def test_filters_apply_before_ranking(archive: Archive, tmp_path: Path):
    # 60 near-identical articles about oil, and one about wheat from another source: a
    # post-filter over the vector top-k would return nothing for the wheat source.
    oil = [
        {
            "id": f"oil-{i}",
            "body": f"Crude oil prices moved on OPEC news, report {i}.",
            "source": "Wire",
            "date": "1987-01-01",
        }
        for i in range(60)
    ]
    odd = {
        "id": "farm",
        "body": "Farmers planted more wheat this spring.",
        "source": "Farm Weekly",
        "date": "1987-05-05",
        "topics": ["grain"],
    }
    archive.ingest([write_jsonl(tmp_path / "many.jsonl", oil + [odd])])
    for mode in ("hybrid", "semantic"):
        hits = archive.search("crude oil prices OPEC", mode=mode, source="Farm Weekly").hits
        assert [h.article.id for h in hits] == ["farm"]
    assert [h.article.id for h in archive.search("oil", where=["topics=grain"]).hits] == ["farm"]
    since = archive.search("crude oil", since="1987-05-01", mode="semantic").hits
    assert [h.article.id for h in since] == ["farm"]
    until = archive.search("crude oil", until="1987-01-01", limit=100).hits
    assert len(until) == 60 and "farm" not in {h.article.id for h in until}


def test_metadata_filters_on_lists_and_scalars(loaded: Archive):
    assert {h.article.id for h in loaded.search("news", where=["category=tech"]).hits} == {"tech-1"}
    grain = loaded.search("prices", where=["topics=wheat", "topics=crude"], limit=10).hits
    assert {h.article.id for h in grain} == {"wheat-1", "oil-1"}
    assert loaded.search("prices", where={"topics": "wheat", "source": "BBC"}).hits == []


def test_snippet_highlights_query_terms(loaded: Archive):
    hit = loaded.search("wheat exports to Egypt", mode="keyword").hits[0]
    marked = [hit.snippet[s:e].lower() for s, e in hit.highlights]
    assert {"wheat", "exports", "egypt"} <= set(marked)


def test_bad_requests_raise_input_errors(loaded: Archive):
    for kwargs in (
        {"query": ""},
        {"query": "x" * 1001},
        {"query": "a", "mode": "fuzzy"},
        {"query": "a", "limit": 0},
        {"query": "a", "offset": -1},
        {"query": "a", "since": "last tuesday-ish"},
        {"query": "a", "where": ["bad"]},
    ):
        with pytest.raises(InputError):
            loaded.search(**kwargs)


def test_results_carry_article_fields(loaded: Archive):
    hit = loaded.search("broadband internet homes").hits[0]
    assert hit.article.model_dump() == {
        "id": "tech-1",
        "title": "Broadband take-up soars",
        "author": None,
        "source": "BBC",
        "date": "2004-12-01",
        "url": None,
    }
    assert NEWS[3]["body"].split("\n\n")[0] in hit.text


def test_eval_reports_article_level_metrics(loaded: Archive, tmp_path: Path):
    queries = tmp_path / "q.jsonl"
    write_jsonl(
        queries,
        [
            {"qid": "1", "query": "Wheat exports climb", "relevant_ids": ["wheat-1"],
             "title_body_overlap": 1.0},
            {"qid": "2", "query": "Late goal wins the derby", "relevant_ids": ["football-1"],
             "title_body_overlap": 0.2},
            {"qid": "3", "query": "Cats adopt a lighthouse keeper", "relevant_ids": ["nowhere"],
             "title_body_overlap": 0.0},
        ],
    )  # fmt: skip
    result = loaded.evaluate(queries, mode="hybrid")
    assert result["queries"] == 3
    assert result["mrr"] == pytest.approx(2 / 3)  # two found at rank 1, one never
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["low_overlap"]["queries"] == 2
    assert result["low_overlap"]["mrr"] == pytest.approx(0.5)
    with pytest.raises(InputError, match="q.jsonl:1"):
        queries.write_text("{oops\n")
        loaded.evaluate(queries)


def test_reranker_hook_reorders_candidates(loaded: Archive):
    plain = [h.article.id for h in loaded.search("prices and markets", limit=5).hits]
    loaded.reranker = lambda query, texts: [float("goal" in t) for t in texts]
    reranked = [h.article.id for h in loaded.search("prices and markets", limit=5).hits]
    assert reranked[0] == "football-1"
    assert sorted(reranked) == sorted(plain)


def test_large_archives_leave_out_very_common_keywords(archive: Archive, monkeypatch):
    """Past the size cutoff, a term in most passages no longer decides keyword matches (it
    would make FTS5 score nearly every passage); rarer terms still do, and a query made only
    of common terms keeps them."""
    from newsarchive.archive.store.fts import CommonTerms

    records = [
        {"id": f"market-{n}", "body": f"Market report number {n}: trading was quiet today."}
        for n in range(8)
    ]
    records.append({"id": "cocoa", "body": "Cocoa harvest delayed by drought, traders said."})
    archive.ingest_articles(records)
    both = {h.article.id for h in archive.search("market cocoa", mode="keyword", limit=20).hits}
    assert both == {"cocoa"} | {f"market-{n}" for n in range(8)}

    monkeypatch.setattr(CommonTerms, "MIN_PASSAGES", 5)
    monkeypatch.setattr(CommonTerms, "SHARE", 0.5)
    archive.keyword.common = CommonTerms()  # forget the counts taken at the old settings
    rare = archive.search("market cocoa", mode="keyword", limit=20).hits
    assert [h.article.id for h in rare] == ["cocoa"]
    only_common = archive.search("market", mode="keyword", limit=20).hits
    assert len(only_common) == 8
