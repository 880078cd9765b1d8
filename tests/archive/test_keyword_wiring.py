"""The archive's keyword retrieval past the size switch: tantivy answers, FTS5 answers what
tantivy cannot say, writes and reindex keep it in step; hybrid overlapped equals sequential."""

from __future__ import annotations

import shutil
from pathlib import Path

from newsarchive.archive import Archive
from newsarchive.archive.search.request import SearchRequest

from conftest import NEWS, SEED, searcher_like


def test_past_the_threshold_tantivy_answers_and_fts5_is_the_fallback(archive: Archive):
    archive.keywords.threshold = 5
    archive.ingest_articles([dict(n) for n in NEWS])
    assert archive.stats()["keyword_index"] == "fts5"  # under 5 passages: not yet
    archive.ingest([SEED])
    assert archive.stats()["keyword_index"] == "tantivy"
    fts5_calls = []
    real = archive.keyword_search.fts5
    archive.keyword_search.fts5 = lambda *args: fts5_calls.append(args) or real(*args)
    hits = archive.search("wheat exports", mode="keyword").hits
    assert hits[0].article.id == "wheat-1" and fts5_calls == []
    found = archive.search("wheat", mode="keyword", where=["title=Wheat exports climb"]).hits
    assert [h.article.id for h in found] == ["wheat-1"] and len(fts5_calls) == 1
    archive.remove(["wheat-1"])
    assert "wheat-1" not in {h.article.id for h in archive.search("wheat", mode="keyword").hits}
    assert archive.reindex()["keyword_index"] == "tantivy"
    assert archive.search("OPEC crude", mode="keyword").hits[0].article.id == "oil-1"


def test_overlapped_hybrid_equals_sequential(archive: Archive):
    archive.ingest_articles([dict(n) for n in NEWS])
    archive.ingest([SEED])
    overlapped = archive.searcher()
    sequential = searcher_like(overlapped, pool=None)  # the same parts, no pool: sequential
    for query in ("US troops Iraq", "wheat exports", "late goal", "crude"):
        for options in ({}, {"since": "1987-01-01", "until": "1987-12-31"}, {"source": "BBC"}):
            request = SearchRequest.make(query, **options)
            mine, theirs = overlapped.search(request), sequential.search(request)
            assert [(h.passage_id, h.score) for h in mine.hits] == [
                (h.passage_id, h.score) for h in theirs.hits
            ]


def test_a_restored_archive_rebuilds_its_keyword_index_and_check_reports_it(
    archive: Archive, tmp_path: Path
):
    """The backup holds no keywords/: the restored archive searches with FTS5 and `check` says
    the tantivy index is missing until `reindex` builds it. An index of a later history (copied
    over a restored database) is never used: FTS5 answers and `check` names the problem."""
    archive.keywords.threshold = 5
    archive.ingest_articles([dict(n) for n in NEWS])
    archive.ingest([SEED])
    assert archive.check()["tantivy_index"] == "ok" and archive.check()["ok"]
    archive.backup(tmp_path / "backup")
    archive.remove(["wheat-1"])  # the original moves on past the backup
    Archive.restore(tmp_path / "backup", tmp_path / "restored")
    with Archive(tmp_path / "restored", embedder=archive.embedder) as restored:
        restored.keywords.threshold = 5
        report = restored.check()
        assert "is missing" in report["tantivy_index"] and not report["ok"]
        assert any("tantivy" in line for line in report["repairs"])
        assert restored.search("wheat exports", mode="keyword").hits[0].article.id == "wheat-1"
        assert restored.reindex()["keyword_index"] == "tantivy"
        assert restored.check()["ok"]
    Archive.restore(tmp_path / "backup", tmp_path / "again")
    shutil.copytree(archive.keywords.folder, tmp_path / "again" / "keywords")
    with Archive(tmp_path / "again", embedder=archive.embedder) as again:
        again.keywords.threshold = 5
        assert "ahead of the database" in again.check()["tantivy_index"]
        hits = again.search("wheat exports", mode="keyword").hits  # FTS5: wheat-1 is here
        assert hits[0].article.id == "wheat-1" and "ahead" in again.keywords.error
        assert again.reindex()["keyword_index"] == "tantivy" and again.check()["ok"]
        assert again.search("wheat exports", mode="keyword").hits[0].article.id == "wheat-1"


def test_date_filters_stay_in_tantivy_and_source_filters_go_to_fts5(archive: Archive):
    """Date bounds are read as the SQL filter reads them (a bare day or a month is a period)
    and tantivy answers them with the same passages as FTS5; a source filter, which matches
    an outlet's other names, is FTS5's."""
    archive.keywords.threshold = 5
    archive.ingest_articles([dict(n) for n in NEWS])
    archive.ingest([SEED])
    calls = []
    real = archive.keyword_search.fts5
    archive.keyword_search.fts5 = lambda *args: calls.append(args) or real(*args)
    for since, until in (("1987", "2030"), ("1987-03-01", "2030-12-31"), (None, "1990-06")):
        filters = SearchRequest.make("x", since=since, until=until).filters()
        mine = archive.keyword_search("wheat troops goal crude", filters, 500)
        theirs = real("wheat troops goal crude", filters, 500)
        assert calls == [] and mine and {p for p, _ in mine} == {p for p, _ in theirs}
    archive.search("wheat", mode="keyword", source="BBC")
    assert len(calls) == 1


def test_the_catalog_gives_each_passage_its_position_in_its_article(archive: Archive):
    archive.ingest([SEED])
    ids = [int(p) for p in archive.store.passage_ids()]
    with archive.store.reading() as conn:
        stored = dict(conn.execute("SELECT id, position FROM passages").fetchall())
    assert archive.catalog.positions_of(ids + [10**7]) == {p: stored[p] for p in ids}
    assert sorted(stored.values())[0] == 0
