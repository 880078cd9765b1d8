"""Incremental ingest: new, changed, unchanged and metadata-only articles, removal, bad input,
and the ordered pipeline that runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsarchive.archive import Archive

from conftest import NEWS, write_jsonl


def test_reingest_embeds_nothing(archive: Archive, news_file: Path):
    first = archive.ingest([news_file])
    assert (first.new, first.changed, first.unchanged) == (4, 0, 0)
    assert first.passages_embedded > 0
    second = archive.ingest([news_file])
    assert (second.new, second.changed, second.unchanged) == (0, 0, 4)
    assert second.passages_embedded == 0
    assert "nothing new to embed" in second.summary()


def test_edit_replaces_old_passages(archive: Archive, tmp_path: Path, news_file: Path):
    archive.ingest([news_file])
    old_ids = {p["id"] for p in archive.get("oil-1")["passages"]}
    edited = [dict(r) for r in NEWS]
    edited[1]["body"] = edited[1]["body"].replace(
        "Brent crude futures fell slightly", "Saudi Arabia's minister walked out"
    )
    report = archive.ingest([write_jsonl(tmp_path / "edited.jsonl", edited)])
    assert (report.new, report.changed, report.unchanged) == (0, 1, 3)
    assert report.passages_embedded == 1  # only the edited article's one passage
    article = archive.get("oil-1")
    assert not old_ids & {p["id"] for p in article["passages"]}
    assert len(archive.vectors.current()) == archive.stats()["passages"]
    hits = archive.search("minister walked out", mode="keyword").hits
    assert hits[0].article.id == "oil-1"
    assert archive.search('"Brent crude futures"', mode="keyword").hits == []


def test_metadata_only_change_does_not_reembed(archive: Archive, tmp_path: Path, news_file: Path):
    archive.ingest([news_file])
    changed = [dict(r) for r in NEWS]
    changed[0]["url"] = "https://example.com/wheat?utm_source=feed"
    report = archive.ingest([write_jsonl(tmp_path / "meta.jsonl", changed)])
    assert report.updated_metadata == 1 and report.passages_embedded == 0
    assert archive.get("wheat-1")["url"] == "https://example.com/wheat"


def test_force_reembeds(archive: Archive, news_file: Path):
    archive.ingest([news_file])
    report = archive.ingest([news_file], force=True)
    assert report.changed == 4 and report.passages_embedded > 0


def test_remove(archive: Archive, news_file: Path):
    archive.ingest([news_file])
    assert archive.remove(["oil-1", "missing"]) == ["oil-1"]
    assert archive.get("oil-1") is None
    ids = {h.article.id for h in archive.search("OPEC crude oil output", limit=10).hits}
    assert "oil-1" not in ids
    assert len(archive.vectors.current()) == archive.stats()["passages"]


def test_dates_normalised_and_unparseable_dates_reported(archive: Archive, tmp_path: Path):
    records = [
        {"id": "d1", "body": "Some text about markets.", "date": "26-FEB-1987 15:10:44.60"},
        {"id": "d2", "body": "Other text about weather.", "date": "the day after tomorrow"},
    ]
    report = archive.ingest([write_jsonl(tmp_path / "d.jsonl", records)])
    assert report.new == 2 and report.errors == []
    assert archive.get("d1")["date"] == "1987-02-26T15:10:44Z"
    assert archive.get("d1")["date_raw"] == "26-FEB-1987 15:10:44.60"
    assert archive.get("d2")["date"] is None
    assert report.warnings and "unparseable date 'the day after tomorrow'" in report.warnings[0]


def test_bad_inputs_do_not_damage_the_archive(archive: Archive, tmp_path: Path, news_file: Path):
    archive.ingest([news_file])
    before = archive.stats()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "body": "Fine article text."}\n{broken\n')
    report = archive.ingest([bad, tmp_path / "missing.txt"])
    assert report.new == 1
    assert len(report.errors) == 2
    assert archive.stats()["articles"] == before["articles"] + 1


def test_pipeline_judges_repeats_against_what_is_written(archive: Archive, monkeypatch):
    import newsarchive.archive.ingest.batches as module

    monkeypatch.setattr(module, "BATCH_ARTICLES", 1)  # every article its own batch
    edited = dict(NEWS[1], body=NEWS[1]["body"] + "\n\nA late paragraph about the talks.")
    report = archive.ingest_articles([NEWS[0], NEWS[1], NEWS[0], edited, NEWS[2]])
    assert (report.new, report.unchanged, report.changed) == (3, 1, 1)
    assert archive.stats()["articles"] == 3
    assert len(archive.vectors.current()) == archive.stats()["passages"]


def test_pipeline_errors_reach_the_caller(archive: Archive, monkeypatch):
    def broken(texts):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(archive.embedder, "encode", broken)
    with pytest.raises(RuntimeError, match="model exploded"):
        archive.ingest_articles(NEWS * 40)
    monkeypatch.undo()
    assert archive.stats()["articles"] == 0
