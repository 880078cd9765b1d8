"""The vector index as a view of the database: repaired when stale, missing or corrupt, rebuilt
by `reindex`, moved to IVF past the size threshold, and followed by a second Archive object."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from newsarchive.archive import Archive
from newsarchive.cli import main as cli

from conftest import NEWS, SEED, write_jsonl


def index_ids(path: Path) -> set[int]:
    import faiss

    index = faiss.read_index(str(path / "vectors.faiss"))
    return set(faiss.vector_to_array(index.id_map).tolist())


def test_repair_after_killed_between_database_and_faiss_writes(tmp_path: Path, hash_embedder):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest([SEED])
    stale = (data / "vectors.faiss").read_bytes(), (data / "vectors.json").read_text()
    records = [{"id": "late", "body": "Volcanic ash grounded flights across northern Europe."}]
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest([write_jsonl(tmp_path / "late.jsonl", records)])
        archive.remove(["000_4270a9efd2e10240"])
    # Simulate a process killed after its SQLite commits but before its FAISS write.
    (data / "vectors.faiss").write_bytes(stale[0])
    (data / "vectors.json").write_text(stale[1])
    with Archive(data, embedder=hash_embedder) as archive:
        hits = archive.search("volcanic ash flights", mode="semantic", group=False).hits
        assert [h.article.id for h in hits] == ["late"]
        assert len(archive.vectors.current()) == archive.stats()["passages"] == 1
    assert index_ids(data) == {
        p["id"] for p in Archive(data, embedder=hash_embedder).get("late")["passages"]
    }


def test_repair_when_faiss_file_is_missing_or_corrupt(tmp_path: Path, hash_embedder):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest([SEED])
        count = archive.stats()["passages"]
    (data / "vectors.faiss").write_bytes(b"garbage")
    with Archive(data, embedder=hash_embedder) as archive:
        assert len(archive.vectors.current()) == count
        assert archive.search("withdrawal of US troops", mode="semantic").hits
    (data / "vectors.faiss").unlink()
    (data / "vectors.json").unlink()
    with Archive(data, embedder=hash_embedder) as archive:
        assert len(archive.vectors.current()) == count


def test_reindex_rebuilds_from_stored_vectors(archive: Archive, news_file: Path):
    archive.ingest([news_file])
    before = archive.search("grain exports", mode="semantic").hits[0]
    archive.embedder.encode = None  # reindex must not embed
    result = archive.reindex()
    assert result["passages"] == archive.stats()["passages"]
    archive.embedder.__dict__.pop("encode")
    after = archive.search("grain exports", mode="semantic").hits[0]
    assert (after.passage_id, round(after.score, 5)) == (before.passage_id, round(before.score, 5))


def test_second_archive_object_sees_writes_of_the_first(
    tmp_path: Path, hash_embedder, news_file: Path
):
    data = tmp_path / "data"
    reader = Archive(data, embedder=hash_embedder)
    writer = Archive(data, embedder=hash_embedder)
    writer.ingest([SEED])
    assert reader.search("Iraq withdrawal talks", mode="semantic").hits
    writer.ingest([news_file])
    writer.remove(["000_4270a9efd2e10240"])
    ids = {h.article.id for h in reader.search("Iraq withdrawal talks", limit=20).hits}
    assert "000_4270a9efd2e10240" not in ids and ids <= {r["id"] for r in NEWS}
    assert len(reader.vectors.current()) == writer.stats()["passages"]


def test_archive_moves_to_ivf_past_the_threshold(tmp_path: Path, hash_embedder):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.index_threshold = 3
        archive.ingest_articles(NEWS[:2])
        assert archive.vectors.current().kind == "flat"
        archive.ingest_articles(NEWS[2:])
        assert len(archive.vectors.current()) >= 3 and archive.vectors.current().kind == "ivf"
        assert archive.stats()["index"] == "ivf"
        archive.remove(["oil-1"])
        hits = archive.search("wheat exports", mode="semantic", where=["topics=grain"]).hits
        assert [h.article.id for h in hits] == ["wheat-1"]
    with Archive(data, embedder=hash_embedder) as archive:
        assert archive.vectors.current().kind == "ivf"
        assert archive.search("derby goal", mode="semantic").hits[0].article.id == "football-1"
        ids = {h.article.id for h in archive.search("oil", mode="semantic", limit=10).hits}
        assert "oil-1" not in ids


def test_reindex_switches_kind_from_the_cli(tmp_path: Path, hash_embedder, hash_backend):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest_articles(NEWS)
    runner = CliRunner()
    stamp = data / "vectors.json"
    for kind, expected in (("hnsw", "hnsw"), ("ivf", "ivf"), ("flat", "flat"), ("auto", "flat")):
        result = runner.invoke(cli.app, ["reindex", "--index", kind, "--data", str(data)])
        assert result.exit_code == 0, result.output
        assert f"({expected}" in result.output
        assert json.loads(stamp.read_text())["kind"] == expected
        with Archive(data, embedder=hash_embedder) as archive:
            assert archive.store.get_meta("index_kind") == kind
            hits = archive.search("broadband internet", mode="semantic").hits
            assert hits[0].article.id == "tech-1"
    result = runner.invoke(cli.app, ["reindex", "--index", "bogus", "--data", str(data)])
    assert result.exit_code == 2
    assert "index kind 'bogus' is not one of auto, flat, ivf, hnsw" in result.output


def test_tombstones_are_pruned_once_the_file_holds_them(tmp_path: Path, hash_embedder):
    data = tmp_path / "data"
    reader = Archive(data, embedder=hash_embedder)
    with Archive(data, embedder=hash_embedder) as writer:
        writer.ingest_articles([dict(r) for r in NEWS])
        assert reader.search("wheat", mode="semantic").hits  # the reader's view is now loaded
        writer.remove(["wheat-1", "oil-1"])  # saved: the file holds the removals
        count = writer.store.conn.execute("SELECT COUNT(*) FROM tombstones").fetchone()[0]
        assert count == 0 and writer.store.tombstones_pruned_through() == writer.store.generation()
    # The reader's index predates the pruned removals: it compares ids instead of missing them.
    assert set(reader.vectors.current().ids()) == set(reader.store.passage_ids())
    ids = {h.article.id for h in reader.search("wheat oil", mode="semantic", limit=10).hits}
    assert ids == {"football-1", "tech-1"}
    reader.close()
