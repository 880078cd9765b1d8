"""The leads' keyword list past the size switch: a tantivy index of the leads (keyed by each
article's first passage id) answers, on exactly when the passages' index is, kept in step by
writes, rebuilt by `reindex`, reported by `stats` and `check`; FTS5 answers what it cannot
say and whatever it misses. `check` and `reindex` also cover the leads' FTS5 index."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from newsarchive.archive import Archive
from newsarchive.archive.search.filters import Filters

from conftest import NEWS, SEED, write_jsonl


def switched_on(archive: Archive) -> Archive:
    archive.keywords.threshold = 5
    archive.ingest_articles([dict(n) for n in NEWS])
    archive.ingest([SEED])
    return archive


def fts5_spy(archive: Archive) -> list:
    calls: list = []
    real = archive.lead_search.fts5.keyword
    archive.lead_search.fts5.keyword = lambda *args, **kw: calls.append(args) or real(*args, **kw)
    return calls


def test_the_lead_index_switches_on_with_the_passages_and_answers(archive: Archive):
    archive.keywords.threshold = 5
    archive.ingest_articles([dict(n) for n in NEWS])
    assert archive.stats()["lead_index"] == "fts5" and not archive.lead_keywords.active
    archive.ingest([SEED])
    stats = archive.stats()
    assert stats["keyword_index"] == stats["lead_index"] == "tantivy"
    assert stats["lead_index_bytes"] > 0
    calls = fts5_spy(archive)
    found = archive.lead_search.keyword("Egypt wheat", Filters())
    assert found[0][0] == "wheat-1" and calls == []
    # the same leads as FTS5 matches (BM25 differs slightly in scale: normalised by fusion)
    for query in ("exports oil wheat", "Egypt", "crude prices", "nothing-matches-this"):
        mine = {a for a, _ in archive.lead_search.keyword(query, Filters())}
        assert mine == {a for a, _ in archive.leads.keyword(query, Filters())}
    assert archive.search("wheat exports to Egypt").hits[0].article.id == "wheat-1"


def test_edits_removals_and_date_changes_reach_the_lead_index(archive: Archive, tmp_path: Path):
    switched_on(archive)
    edited = {**NEWS[0], "body": "Barley shipments to Japan fell in April, traders said."}
    archive.ingest([write_jsonl(tmp_path / "edit.jsonl", [edited])])
    calls = fts5_spy(archive)
    assert archive.lead_search.keyword("Egypt", Filters()) == []  # the old lead's words are gone
    assert [a for a, _ in archive.lead_search.keyword("Barley", Filters())] == ["wheat-1"]
    assert archive.lead_search.keyword("Barley", Filters(since="2030-01-01")) == []
    moved = {**edited, "date": "2031-05-01"}  # same text: only the date changes
    archive.ingest([write_jsonl(tmp_path / "move.jsonl", [moved])])
    later = archive.lead_search.keyword("Barley", Filters(since="2030-01-01"))
    assert [a for a, _ in later] == ["wheat-1"] and calls == []
    archive.remove(["wheat-1"])
    assert archive.lead_search.keyword("Barley", Filters()) == []
    assert calls == []


def test_filters_the_index_cannot_say_go_to_fts5(archive: Archive):
    switched_on(archive)
    calls = fts5_spy(archive)
    found = archive.lead_search.keyword("exports oil wheat", Filters(sources=["nowhere"]))
    assert found == [] and len(calls) == 1


def test_a_missing_or_broken_lead_index_is_fts5s_until_reindex(archive: Archive):
    switched_on(archive)
    assert archive.check()["lead_tantivy_index"] == "ok"
    shutil.rmtree(archive.lead_keywords.folder)
    calls = fts5_spy(archive)
    assert archive.lead_search.keyword("Egypt wheat", Filters())[0][0] == "wheat-1"
    assert len(calls) == 1
    report = archive.check()
    assert "is missing" in report["lead_tantivy_index"] and not report["ok"]
    assert any("leads' tantivy index" in line for line in report["repairs"])
    result = archive.reindex()
    assert result["lead_index"] == "tantivy"
    assert archive.check()["ok"]


def test_check_and_reindex_cover_the_leads_fts5_index(tmp_path: Path, hash_embedder, hash_backend):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest_articles([dict(n) for n in NEWS])
    conn = sqlite3.connect(data / "archive.db")
    lid, text = conn.execute("SELECT id, text FROM article_leads ORDER BY id LIMIT 1").fetchone()
    conn.execute(
        "INSERT INTO leads_fts(leads_fts, rowid, text) VALUES('delete', ?, ?)", [lid, text]
    )
    conn.commit()
    conn.close()
    with Archive(data, embedder=hash_embedder) as archive:
        report = archive.check()
        assert report["lead_keyword_index"] != "ok" and not report["ok"]
        assert "reindex rebuilds the leads' keyword index from the leads" in report["repairs"]
        assert report["keyword_index"] == "ok"
        result = archive.reindex()
        assert result["lead_keyword_rebuilt"] and not result["keyword_rebuilt"]
        assert archive.check()["ok"]
