"""Article leads (ingest/leads.py, store/leads.py) kept in step with the articles, and the
hybrid fusions that read them (search/fusion.py): stored at ingest, replaced and removed with
their article, absent from an old archive until `reindex` fills them."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsarchive.archive import Archive, InputError
from newsarchive.archive.ingest.leads import lead_sentence
from newsarchive.archive.search.filters import Filters
from newsarchive.archive.store.leads import count_lead_writes

from conftest import NEWS, SEED, write_jsonl


def leads(archive: Archive) -> dict[str, str]:
    with archive.store.reading() as conn:
        return dict(conn.execute("SELECT article_id, text FROM article_leads").fetchall())


@pytest.fixture
def loaded(archive: Archive, news_file: Path) -> Archive:
    archive.ingest([SEED, news_file])
    return archive


def test_the_lead_is_the_opening_sentences_up_to_eight_words():
    assert lead_sentence(["Oil rose. Traders said so in London on Monday. Then more."]) == (
        "Oil rose. Traders said so in London on Monday."
    )
    assert lead_sentence([]) is None
    assert len(lead_sentence(["word " * 500]) or "") <= 600  # a run-on opening is cut


def test_every_ingested_article_gets_its_lead_with_a_vector(loaded: Archive):
    stored = leads(loaded)
    assert set(stored) == {a["id"] for a in NEWS} | {"000_4270a9efd2e10240"}
    assert stored["wheat-1"].startswith("Wheat exports from the United States rose sharply")
    hits = loaded.leads.keyword("Egypt wheat", Filters())
    assert hits[0][0] == "wheat-1"
    query = loaded.embedder.encode_query("wheat")
    cosines, first = loaded.leads.lookup(query, ["wheat-1", "none"])
    assert set(cosines) == {"wheat-1"}
    wheat = loaded.get("wheat-1")["passages"][0]
    assert first == {"wheat-1": wheat["id"]} and wheat["position"] == 0


def test_an_edited_article_gets_its_new_lead_and_a_removed_one_loses_it(
    loaded: Archive, tmp_path: Path
):
    edited = {**NEWS[0], "body": "Barley shipments to Japan fell in April, traders said."}
    loaded.ingest([write_jsonl(tmp_path / "edit.jsonl", [edited])])
    assert leads(loaded)["wheat-1"].startswith("Barley shipments to Japan")
    assert loaded.leads.keyword("Egypt", Filters()) == []  # the old lead's words are gone
    loaded.remove(["wheat-1"])
    assert "wheat-1" not in leads(loaded)
    assert loaded.leads.keyword("Barley", Filters()) == []


def test_lead_keyword_search_applies_the_filters(loaded: Archive):
    everywhere = [a for a, _ in loaded.leads.keyword("exports oil wheat", Filters())]
    assert "wheat-1" in everywhere
    later = [a for a, _ in loaded.leads.keyword("exports oil wheat", Filters(since="1987-03-03"))]
    assert "wheat-1" not in later


def test_an_archive_without_leads_searches_and_reindex_fills_them(loaded: Archive):
    before = [h.article.id for h in loaded.search("wheat exports to Egypt").hits]
    with loaded.store.write() as conn:
        conn.execute("DELETE FROM article_leads")  # as an archive migrated to m008 has none
        count_lead_writes(conn)  # as the store's own lead writes do: memory follows
    without = loaded.search("wheat exports to Egypt")
    assert without.hits and without.hits[0].article.id == "wheat-1"
    _, first = loaded.leads.lookup(loaded.embedder.encode_query("x"), ["wheat-1"])
    assert first == {"wheat-1": loaded.get("wheat-1")["passages"][0]["id"]}  # from passages
    assert loaded.lead_search.lookup(loaded.embedder.encode_query("x"), ["wheat-1"]) == ({}, first)
    result = loaded.reindex()
    assert result["leads_added"] == len(NEWS) + 1
    assert [h.article.id for h in loaded.search("wheat exports to Egypt").hits] == before
    assert loaded.reindex()["leads_added"] == 0


def test_reembedding_replaces_the_leads_vectors(loaded: Archive):
    with loaded.store.write() as conn:
        conn.execute("UPDATE article_leads SET vector = zeroblob(length(vector))")
    loaded.reindex(reembed=True)
    cosines, _ = loaded.leads.lookup(loaded.embedder.encode_query("wheat"), ["wheat-1"])
    assert cosines["wheat-1"] != 0.0


@pytest.mark.parametrize("fusion", ["score", "rrf", "rrf60"])
def test_every_fusion_groups_pages_and_collapses(loaded: Archive, fusion: str):
    everything = loaded.search("Iraq oil wheat", limit=20, fusion=fusion)
    ids = [h.article.id for h in everything.hits]
    assert len(ids) == len(set(ids)) and ids
    scores = [h.score for h in everything.hits]
    assert scores == sorted(scores, reverse=True)
    pages = []
    for offset in range(0, 20, 2):
        page = loaded.search("Iraq oil wheat", limit=2, offset=offset, fusion=fusion)
        pages += [h.article.id for h in page.hits]
    assert pages == ids
    first = loaded.search("Iraq oil wheat", limit=2, fusion=fusion)
    following = loaded.search("Iraq oil wheat", limit=2, after=first.next, fusion=fusion)
    assert [h.article.id for h in following.hits] == ids[2:4]
    passages = loaded.search("Iraq", limit=30, group=False, fusion=fusion)
    assert len({h.passage_id for h in passages.hits}) == len(passages.hits)


def test_the_default_hybrid_shows_an_articles_other_passages(loaded: Archive):
    hit = loaded.search("US troops in Iraq", limit=10).hits[0]
    assert hit.article.id == "000_4270a9efd2e10240" and hit.other_passages


def test_a_cursor_from_another_fusion_is_refused(loaded: Archive):
    first = loaded.search("Iraq oil wheat", limit=2, fusion="rrf")
    with pytest.raises(InputError):
        loaded.search("Iraq oil wheat", limit=2, after=first.next)


def test_an_unknown_fusion_is_one_clear_error(loaded: Archive):
    with pytest.raises(InputError, match="fusion"):
        loaded.search("wheat", fusion="borda")


def test_eval_compares_the_fusions(loaded: Archive):
    queries = [{"qid": "1", "query": "wheat exports to Egypt", "relevant_ids": ["wheat-1"]}]
    result = loaded.compare(queries, ["hybrid:rrf60", "hybrid"])
    assert [run["mode"] for run in result["modes"]] == ["hybrid:rrf60", "hybrid"]
    assert result["modes"][1]["mrr"] == 1.0
