"""Incremental ingest, edits, removal, and repair when FAISS and SQLite disagree."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from newsarchive.archive import Archive

from conftest import NEWS, SEED, write_jsonl


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
    assert len(archive.index) == archive.stats()["passages"]
    hits = archive.search("minister walked out", mode="keyword").hits
    assert hits[0].article["id"] == "oil-1"
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
    ids = {h.article["id"] for h in archive.search("OPEC crude oil output", limit=10).hits}
    assert "oil-1" not in ids
    assert len(archive.index) == archive.stats()["passages"]


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


def index_ids(path: Path) -> set[int]:
    import faiss

    index = faiss.read_index(str(path / "vectors.faiss"))
    return set(faiss.vector_to_array(index.id_map).tolist())


def test_repair_after_killed_between_database_and_faiss_writes(tmp_path: Path, embedder):
    data = tmp_path / "data"
    with Archive(data, embedder=embedder) as archive:
        archive.ingest([SEED])
    stale = (data / "vectors.faiss").read_bytes(), (data / "vectors.json").read_text()
    records = [{"id": "late", "body": "Volcanic ash grounded flights across northern Europe."}]
    with Archive(data, embedder=embedder) as archive:
        archive.ingest([write_jsonl(tmp_path / "late.jsonl", records)])
        archive.remove(["000_4270a9efd2e10240"])
    # Simulate a process killed after its SQLite commits but before its FAISS write.
    (data / "vectors.faiss").write_bytes(stale[0])
    (data / "vectors.json").write_text(stale[1])
    with Archive(data, embedder=embedder) as archive:
        hits = archive.search("volcanic ash flights", mode="semantic", group=False).hits
        assert [h.article["id"] for h in hits] == ["late"]
        assert len(archive.index) == archive.stats()["passages"] == 1
    assert index_ids(data) == {p["id"] for p in Archive(data).get("late")["passages"]}


def test_repair_when_faiss_file_is_missing_or_corrupt(tmp_path: Path, embedder):
    data = tmp_path / "data"
    with Archive(data, embedder=embedder) as archive:
        archive.ingest([SEED])
        count = archive.stats()["passages"]
    (data / "vectors.faiss").write_bytes(b"garbage")
    with Archive(data, embedder=embedder) as archive:
        assert len(archive.index) == count
        assert archive.search("withdrawal of US troops", mode="semantic").hits
    (data / "vectors.faiss").unlink()
    (data / "vectors.json").unlink()
    with Archive(data, embedder=embedder) as archive:
        assert len(archive.index) == count


def test_reindex_rebuilds_from_stored_vectors(archive: Archive, news_file: Path):
    archive.ingest([news_file])
    before = archive.search("grain exports", mode="semantic").hits[0]
    archive.embedder.encode = None  # reindex must not embed
    result = archive.reindex()
    assert result["passages"] == archive.stats()["passages"]
    archive.embedder.__dict__.pop("encode")
    after = archive.search("grain exports", mode="semantic").hits[0]
    assert (after.passage_id, round(after.score, 5)) == (before.passage_id, round(before.score, 5))


def test_second_archive_object_sees_writes_of_the_first(tmp_path: Path, embedder, news_file: Path):
    data = tmp_path / "data"
    reader = Archive(data, embedder=embedder)
    writer = Archive(data, embedder=embedder)
    writer.ingest([SEED])
    assert reader.search("Iraq withdrawal talks", mode="semantic").hits
    writer.ingest([news_file])
    writer.remove(["000_4270a9efd2e10240"])
    ids = {h.article["id"] for h in reader.search("Iraq withdrawal talks", limit=20).hits}
    assert "000_4270a9efd2e10240" not in ids and ids <= {r["id"] for r in NEWS}
    assert len(reader.index) == writer.stats()["passages"]


def test_stored_vectors_are_normalised_and_match_the_model(archive: Archive, news_file: Path):
    archive.ingest([news_file])
    ids = archive.store.passage_ids()
    vectors = archive.store.vectors_for(ids, archive.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    text = archive.get("wheat-1")["passages"][0]["text"]
    fresh = archive.embedder.encode([text])[0]
    assert float(fresh @ vectors[0]) > 0.999
    assert json.loads(json.dumps(archive.stats()))["articles"] == 4
