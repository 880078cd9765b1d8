"""Exploring the archive through the library, on the test embedder: the matching set and its
honest count, timelines, facets, date order and cursors, browsing, similar stories, export and
saved searches, on a small archive with known dates (tests/explore_corpus.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from newsarchive.archive import Archive, InputError

from conftest import write_jsonl
from explore_corpus import MARCH_WHEAT, OTHER, WHEAT, WORDS_ONLY, corpus_file

WHEAT_IDS = {a for a, *_ in WHEAT}


@pytest.fixture
def explored(archive: Archive, tmp_path: Path) -> Archive:
    report = archive.ingest([corpus_file(tmp_path)])
    assert (report.new, report.exact_copies) == (16, 1)
    return archive


# -- the matching set and the honest count (issue 12) -----------------------------------------
def test_total_counts_the_articles_that_match_not_the_candidate_pool(explored: Archive):
    found = explored.search(WORDS_ONLY, limit=5)
    # Every article is a semantic candidate in an archive this small: that pool is `pageable`.
    assert found.pageable == 15  # 16 articles, one near copy collapsed
    assert found.total == len(WHEAT) == 7
    for mode in ("keyword", "semantic"):  # the set is made of words: the same in every mode
        assert explored.search(WORDS_ONLY, mode=mode).total == 7
    march = explored.search(WORDS_ONLY, since="1987-03-01", until="1987-03-31")
    assert march.total == len(MARCH_WHEAT) == 3  # not the six March articles
    assert explored.browse(since="1987-03-01", until="1987-03-31").total == 6


def test_words_may_be_in_different_passages_of_an_article(archive: Archive, tmp_path: Path):
    filler = " ".join(f"word{i}" for i in range(110))  # ~143 tokens: one passage each
    records = [
        {"id": "split", "body": f"Wheat {filler}\n\nExports {filler}", "date": "1987-03-01"},
        {"id": "one", "body": f"Wheat {filler}", "date": "1987-03-01"},
    ]
    archive.ingest([write_jsonl(tmp_path / "split.jsonl", records)])
    assert archive.get("split")["passage_count"] == 2
    facets = archive.facets("wheat exports", mode="keyword")
    export = list(archive.export("wheat exports", fields="id", mode="keyword"))
    # "one" holds a word of the query, so it is a keyword candidate; "split" holds both.
    assert facets.total == len(export) == 2


def test_a_query_with_no_keyword_term_matches_nothing_by_words(explored: Archive):
    assert explored.search("!!!", mode="keyword").total == 0


# -- timeline ------------------------------------------------------------------------------------
def test_timeline_counts_matching_articles_and_their_share_per_month(explored: Archive):
    result = explored.timeline(WORDS_ONLY, "month")
    assert result.total == 7
    timeline = result.timeline
    assert timeline.interval == "month" and timeline.undated == 1
    rows = [(b.start, b.count, b.all, b.share) for b in timeline.buckets]
    assert rows == [
        ("1987-03-01", 3, 6, 0.5),
        ("1987-04-01", 2, 4, 0.5),
        ("1987-05-01", 0, 3, 0.0),  # empty buckets are kept
        ("1987-06-01", 1, 2, 0.5),
    ]
    assert sum(b.count for b in timeline.buckets) + timeline.undated == result.total


def test_timeline_intervals_weeks_start_on_monday_and_auto_follows_the_span(explored: Archive):
    weeks = explored.timeline(WORDS_ONLY, "week").timeline.buckets
    assert weeks[0].start == "1987-03-02" and weeks[-1].start == "1987-06-01"
    assert [(b.start, b.count) for b in weeks[:3]] == [
        ("1987-03-02", 2), ("1987-03-09", 0), ("1987-03-16", 1)
    ]  # fmt: skip
    auto = explored.timeline(WORDS_ONLY)  # 2 March to 1 June: 92 days, one bucket each
    assert auto.timeline.interval == "day" and len(auto.timeline.buckets) == 92
    years = explored.timeline(None, "year")  # no query: every article, shares of 1
    assert [(b.start, b.count, b.share) for b in years.timeline.buckets] == [
        ("1987-01-01", 15, 1.0)
    ]
    assert years.total == 16 and years.timeline.undated == 1


def test_timeline_in_a_search_response_and_with_filters(explored: Archive):
    found = explored.search(WORDS_ONLY, timeline="month", source="AP", limit=1)
    assert [(b.start, b.count, b.all) for b in found.timeline.buckets] == [
        ("1987-03-01", 1, 2), ("1987-04-01", 1, 1)
    ]  # fmt: skip
    assert explored.search(WORDS_ONLY).timeline is None and explored.search(WORDS_ONLY).facets == {}


def test_too_many_buckets_is_an_error_naming_the_fix(archive: Archive, tmp_path: Path):
    records = [{"id": "old", "body": "Wheat in 1900.", "date": "1900-01-01"},
               {"id": "new", "body": "Wheat in 2000.", "date": "2000-01-01"}]  # fmt: skip
    archive.ingest([write_jsonl(tmp_path / "span.jsonl", records)])
    with pytest.raises(InputError, match="timeline: 36,525 day buckets .* at most 10,000"):
        archive.timeline("wheat", "day")
    assert archive.timeline("wheat").timeline.interval == "year"


# -- facets ---------------------------------------------------------------------------------------
def test_facet_counts_add_up_to_the_total(explored: Archive):
    for query in (WORDS_ONLY, None):
        result = explored.facets(query, fields=["source"], size=2)
        source = result.facets["source"]
        assert len(source.values) == 2
        shown = sum(v.count for v in source.values)
        assert shown + source.other + source.missing == result.total
    wheat = explored.facets(WORDS_ONLY, fields=["source", "topics"]).facets
    assert [(v.value, v.count) for v in wheat["source"].values] == [
        ("Reuters", 3), ("AP", 2), ("Wire", 2)
    ]  # fmt: skip
    # A list field counts an article under each of its values; missing = without the field.
    assert [(v.value, v.count) for v in wheat["topics"].values] == [("grain", 4), ("wheat", 4)]
    assert wheat["topics"].missing == 1  # w5


def test_selecting_a_facet_value_is_a_filter(explored: Archive):
    facets = explored.facets(WORDS_ONLY, fields=["source", "topics"]).facets
    for value in facets["source"].values:
        assert explored.search(WORDS_ONLY, source=value.value).total == value.count
    for value in facets["topics"].values:
        where = [f"topics={value.value}"]
        assert explored.search(WORDS_ONLY, where=where).total == value.count


def test_bad_facet_fields_are_refused(explored: Archive):
    with pytest.raises(InputError, match="facets: 'date' cannot be a facet"):
        explored.search(WORDS_ONLY, facets=["date"])
    with pytest.raises(InputError, match="is not a field name"):
        explored.facets(WORDS_ONLY, fields=['to"pics'])
    with pytest.raises(InputError, match="facet_size: Input should be less than or equal to 100"):
        explored.search(WORDS_ONLY, facets=["source"], facet_size=101)


# -- date order and cursors -----------------------------------------------------------------------
def test_date_order_walks_the_whole_matching_set_undated_last(explored: Archive):
    newest = explored.search(WORDS_ONLY, sort="newest", limit=20)
    assert [h.article.id for h in newest.hits] == ["w6", "w5", "w4", "w3", "w2", "w1", "w7"]
    oldest = explored.search(WORDS_ONLY, sort="oldest", limit=20)
    assert [h.article.id for h in oldest.hits] == ["w1", "w2", "w3", "w4", "w5", "w6", "w7"]
    assert all("wheat" in h.text.lower() for h in oldest.hits)  # the best passage is shown
    assert newest.next is None and newest.total == 7


def test_cursors_page_with_no_repeats_or_gaps(explored: Archive):
    for sort in ("newest", "oldest", "relevance"):
        whole = [h.article.id for h in explored.search(WORDS_ONLY, sort=sort, limit=100).hits]
        pages, cursor = [], None
        while True:
            page = explored.search(WORDS_ONLY, sort=sort, limit=2, after=cursor)
            pages += [h.article.id for h in page.hits]
            cursor = page.next
            if cursor is None:
                break
        assert pages == whole, sort
        assert len(pages) == (7 if sort != "relevance" else page.pageable)
    by_offset = [h.article.id for h in explored.search(WORDS_ONLY, limit=3, offset=3).hits]
    second = explored.search(WORDS_ONLY, limit=3, after=explored.search(WORDS_ONLY, limit=3).next)
    assert [h.article.id for h in second.hits] == by_offset


def test_date_cursors_hold_across_ingests(explored: Archive):
    first = explored.search(WORDS_ONLY, sort="newest", limit=3)
    assert [h.article.id for h in first.hits] == ["w6", "w5", "w4"]
    explored.ingest_articles(
        [{"id": "w8", "body": "Wheat exports to Japan.", "date": "1987-07-01"}]
    )
    rest = explored.search(WORDS_ONLY, sort="newest", limit=10, after=first.next)
    assert [h.article.id for h in rest.hits] == ["w3", "w2", "w1", "w7"]


def test_bad_cursors_are_refused(explored: Archive):
    newest = explored.search(WORDS_ONLY, sort="newest", limit=2)
    with pytest.raises(InputError, match="this cursor pages sort=newest, not sort=oldest"):
        explored.search(WORDS_ONLY, sort="oldest", after=newest.next)
    with pytest.raises(InputError, match="belongs to another search"):
        explored.search("oil prices", sort="newest", after=newest.next)
    with pytest.raises(InputError, match="after: not a cursor from a previous response"):
        explored.search(WORDS_ONLY, after="bm90IGEgY3Vyc29y")
    with pytest.raises(InputError, match="after and offset: give one or the other"):
        explored.search(WORDS_ONLY, after=newest.next, offset=2)
    with pytest.raises(InputError, match="group=false lists passages; sort=newest"):
        explored.search(WORDS_ONLY, sort="newest", group=False)


# -- browse ---------------------------------------------------------------------------------------
def test_browse_lists_filtered_articles_by_date_in_pages(explored: Archive):
    first = explored.browse(source="reuters", limit=3)  # sources match case-insensitively
    assert first.total == 5
    assert [a.id for a in first.results] == ["o5", "w5", "w2"]  # 04-20, 04-07, 03-03
    rest = explored.browse(source="reuters", limit=3, after=first.next)
    assert [a.id for a in rest.results] == ["w1", "o1"] and rest.next is None  # 03-02: by id
    everything = explored.browse(limit=100, sort="oldest")
    assert everything.total == len(everything.results) == 16
    assert everything.results[-1].id == "w7"  # undated last
    bridge = next(a for a in everything.results if a.id == "bridge")
    assert bridge.also_in == ["Echo", "Gazette"] and bridge.passage_count == 1
    with pytest.raises(InputError, match="sort: Input should be 'newest' or 'oldest'"):
        explored.browse(sort="relevance")


# -- similar stories ------------------------------------------------------------------------------
def test_similar_leaves_out_the_article_its_copies_and_its_cluster(explored: Archive):
    found = explored.similar("bridge", limit=20)
    ids = [h.article.id for h in found.hits]
    assert ids[0] == "bridge-other"  # the related story, not a copy of this one
    assert not {"bridge", "bridge-copy", "bridge-near"} & set(ids)
    assert found.mode == "semantic" and found.total == found.pageable == len(ids)
    by_copy = explored.similar("bridge-copy", limit=20)  # an exact copy's id names its article
    assert [h.article.id for h in by_copy.hits] == ids
    near = explored.similar("bridge-near", limit=20)
    assert not {"bridge", "bridge-near"} & {h.article.id for h in near.hits}
    only_ap = explored.similar("w1", source="AP")
    assert {h.article.source for h in only_ap.hits} == {"AP"}


def test_similar_to_a_text_and_bad_requests(explored: Archive):
    found = explored.similar(text="stone bridge over the river Alder closes for repairs")
    assert found.hits[0].article.id in {"bridge", "bridge-near", "bridge-other"}
    with pytest.raises(InputError, match="no article with id 'nope'"):
        explored.similar("nope")
    with pytest.raises(InputError, match="give an article id or a text, not both"):
        explored.similar("bridge", text="x")
    with pytest.raises(InputError, match="text: String should have at most 10000 characters"):
        explored.similar(text="x" * 10_001)


# -- export ---------------------------------------------------------------------------------------
def test_export_has_one_record_per_matching_article(explored: Archive):
    total = explored.search(WORDS_ONLY).total
    lines = list(explored.export(WORDS_ONLY))
    assert len(lines) == total == 7
    assert [json.loads(line)["id"] for line in lines] == ["w6", "w5", "w4", "w3", "w2", "w1", "w7"]
    assert set(json.loads(lines[0])) == {"id", "title", "date", "source", "url"}
    rows = list(csv.reader(io.StringIO("".join(explored.export(None, format="csv")))))
    assert rows[0] == ["id", "title", "date", "source", "url"]
    assert len(rows) - 1 == explored.browse().total == 16


def test_export_fields_small_pages_and_csv_cells(explored: Archive, monkeypatch):
    from newsarchive.archive.search import export

    monkeypatch.setattr(export, "PAGE", 2)  # the walk crosses pages by keyset
    lines = list(explored.export(WORDS_ONLY, fields="id,topics,text,also_in", sort="oldest"))
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == ["w1", "w2", "w3", "w4", "w5", "w6", "w7"]
    assert records[0]["topics"] == ["grain", "wheat"] and "rose sharply" in records[0]["text"]
    explored.ingest_articles([{"id": "=HYPERLINK(1)", "title": "-1% wheat exports", "body":
                               "Wheat exports fell.", "date": "1987-01-01"}])  # fmt: skip
    rows = list(csv.reader(io.StringIO("".join(
        explored.export(WORDS_ONLY, format="csv", fields="id,title,topics", sort="oldest")))))  # fmt: skip
    assert rows[1] == ["'=HYPERLINK(1)", "'-1% wheat exports", ""]
    assert rows[2] == ["w1", rows[2][1], "grain; wheat"]
    with pytest.raises(InputError, match="format: 'xml' is not one of jsonl, csv"):
        explored.export(WORDS_ONLY, format="xml")
    with pytest.raises(InputError, match="fields: 'a b' is not a field name"):
        explored.export(WORDS_ONLY, fields="id,a b")


# -- saved searches -------------------------------------------------------------------------------
def test_saved_search_reports_only_what_was_ingested_after_its_last_check(explored: Archive):
    watches = explored.watches()
    watches.add("wheat", WORDS_ONLY, mode="keyword", source="Reuters")
    assert [w.name for w in watches.list()] == ["wheat"]
    first = watches.check()
    assert first.new == 0  # what was there before it was saved is not new
    assert first.watches[0].since is None  # never checked before
    explored.ingest_articles([
        {"id": "n1", "body": "Wheat exports to Brazil.", "source": "Reuters", "date": "1987-07-02"},
        {"id": "n2", "body": "Wheat exports to Peru.", "source": "AP", "date": "1987-07-03"},
        {"id": "n3", "body": "Gold rose in Zurich.", "source": "Reuters", "date": "1987-07-04"},
    ])  # fmt: skip
    checked = watches.check("wheat")
    assert checked.new == 1 and [a.id for a in checked.watches[0].results] == ["n1"]
    assert checked.watches[0].since == first.watches[0].checked_at
    again = watches.check("wheat")
    assert again.new == 0 and again.watches[0].since == checked.watches[0].checked_at
    explored.ingest_articles([{"id": "n4", "body": "Wheat exports to Chile.", "source": "reuters"}])
    assert [a.id for a in watches.check().watches[0].results] == ["n4"]
    assert watches.remove("wheat") and not watches.remove("wheat")
    with pytest.raises(InputError, match="no saved search named 'wheat'"):
        watches.check("wheat")


def test_saved_search_names_and_requests_are_checked(explored: Archive):
    watches = explored.watches()
    with pytest.raises(InputError, match="name: 'bad name' is not a saved-search name"):
        watches.add("bad name", "wheat")
    with pytest.raises(InputError, match="unparseable date"):
        watches.add("dated", "wheat", since="someday")
    saved = watches.add("oil", "oil prices", where=["topics=crude"])
    assert saved.request == {"q": "oil prices", "mode": "hybrid", "since": None, "until": None,
                             "source": [], "where": {"topics": ["crude"]}, "group": True,
                             "collapse": True}  # fmt: skip


# -- no model needed -----------------------------------------------------------------------------
def test_counting_listing_and_exporting_need_no_model(explored: Archive, monkeypatch):
    def no_model(*_, **__):
        raise AssertionError("the model was used")

    monkeypatch.setattr(explored.embedder, "encode_query", no_model)
    monkeypatch.setattr(explored.embedder, "encode", no_model)
    assert explored.timeline(WORDS_ONLY).total == 7
    assert explored.facets(WORDS_ONLY).total == 7
    assert len(list(explored.export(WORDS_ONLY))) == 7
    watches = explored.watches()
    watches.add("w", WORDS_ONLY)
    assert watches.check().new == 0
    assert explored.search(WORDS_ONLY, mode="keyword", sort="newest").total == 7
    assert explored.similar("bridge").hits[0].article.id == "bridge-other"  # stored vectors
    assert len(OTHER) == 6
