"""The database and the FAISS file share a lineage (archive id, generation and its token, the
largest passage id): an index that is not the database's own history is rebuilt, never
trusted; a stale file is saved once caught up; an interrupted `--force` is resumed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from newsarchive.archive import Archive

from conftest import write_jsonl
from processes import assert_every_vector_is_its_own, corpus, text_of


def test_database_restored_beside_a_newer_index_never_pairs_wrong_vectors(
    tmp_path: Path, hash_embedder
):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest_articles(corpus(0, 300))
    backup = tmp_path / "backup.db"
    shutil.copyfile(data / "archive.db", backup)  # an operator's copy of the database
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest_articles(corpus(300, 400))
    # The database is restored from the copy; the newer FAISS file stays.
    for leftover in data.glob("archive.db-*"):
        leftover.unlink()
    shutil.copyfile(backup, data / "archive.db")
    # New writes reuse the passage ids the newer index still holds, and reach past its
    # generation number: before lineage, every one of them got another article's vector.
    with Archive(data, embedder=hash_embedder) as archive:
        report = archive.ingest([write_jsonl(tmp_path / "new.jsonl", corpus(1000, 1300))])
        assert report.new == 300
        stale_generation = json.loads((data / "vectors.json").read_text())["generation"]
        assert archive.stats()["generation"] >= stale_generation
        top = archive.search(text_of(1150), mode="semantic", limit=1).hits[0]
        assert top.article.id == "story-1150"
    assert_every_vector_is_its_own(data)
    with Archive(data, embedder=hash_embedder) as archive:
        assert archive.check()["ok"]


def test_index_of_another_archive_or_ahead_of_the_database_is_rebuilt(
    tmp_path: Path, hash_embedder
):
    one, two = tmp_path / "one", tmp_path / "two"
    with Archive(one, embedder=hash_embedder) as archive:
        archive.ingest_articles(corpus(0, 50))
    with Archive(two, embedder=hash_embedder) as archive:
        archive.ingest_articles(corpus(100, 150))
    for name in ("vectors.faiss", "vectors.json"):  # a file copied from another archive
        shutil.copyfile(one / name, two / name)
    with Archive(two, embedder=hash_embedder) as archive:
        hit = archive.search(text_of(120), mode="semantic", limit=1).hits[0]
        assert hit.article.id == "story-120"
        assert archive.vectors.rebuilt_because == "the index file belongs to another archive"
    assert_every_vector_is_its_own(two)
    stamp = json.loads((two / "vectors.json").read_text())
    stamp["generation"] += 5  # ahead of the database
    (two / "vectors.json").write_text(json.dumps(stamp))
    with Archive(two, embedder=hash_embedder) as archive:
        archive.vectors.current()
        assert archive.vectors.rebuilt_because.startswith("the index file is ahead")


def test_stale_index_file_is_saved_once_caught_up_even_by_an_ingest_that_changes_nothing(
    tmp_path: Path, hash_embedder
):
    data = tmp_path / "data"
    path = write_jsonl(tmp_path / "a.jsonl", corpus(0, 40))
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest([path])
    stale = (data / "vectors.faiss").read_bytes(), (data / "vectors.json").read_text()
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest_articles(corpus(40, 80))
    # A process killed after its commits, before its FAISS save:
    (data / "vectors.faiss").write_bytes(stale[0])
    (data / "vectors.json").write_text(stale[1])
    with Archive(data, embedder=hash_embedder) as archive:
        report = archive.ingest([path])  # nothing new
        assert (report.new, report.unchanged) == (0, 40)
        assert json.loads((data / "vectors.json").read_text())["count"] == 80
    assert_every_vector_is_its_own(data)


def test_interrupted_force_is_resumed_by_the_next_force(tmp_path: Path, hash_embedder):
    data = tmp_path / "data"
    path = write_jsonl(tmp_path / "a.jsonl", corpus(0, 200))
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest([path])
    calls = {"n": 0}
    real = hash_embedder.embed_batch

    def dies_on_the_third_batch(texts):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of a forced run
        return real(texts)

    with Archive(data, embedder=hash_embedder) as archive:
        hash_embedder.embed_batch = dies_on_the_third_batch
        try:
            archive.ingest([path], force=True)
        except KeyboardInterrupt:
            pass
        finally:
            del hash_embedder.embed_batch
        done = archive.stats()["generation"]
    with Archive(data, embedder=hash_embedder) as archive:
        report = archive.ingest([path], force=True)
        assert report.passages_embedded < 200
        resumed = 200 - report.passages_embedded
        assert resumed >= 64  # whole batches re-embedded by the interrupted run are kept
        assert f"resumed an interrupted --force: {resumed} articles" in report.warnings[0]
        assert archive.store.get_meta("force_mark") is None
        assert archive.stats()["generation"] > done
        again = archive.ingest([path], force=True)  # a fresh forced run re-embeds all
        assert again.passages_embedded == 200
    assert_every_vector_is_its_own(data)
