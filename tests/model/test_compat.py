"""An archive written by the code before migrations (tests/fixtures/archive-v0: the seed and
four news stories, one exact copy, embedded with the default onnx backend) opens, migrates and
searches under today's code."""

from __future__ import annotations

import shutil
from pathlib import Path

from newsarchive.archive import Archive
from newsarchive.archive.store.schema import latest_version

from conftest import FIXTURES, SEED_ID


def test_archive_from_before_migrations_opens_and_searches(tmp_path: Path, model):
    data = tmp_path / "old"
    shutil.copytree(FIXTURES / "archive-v0", data)
    with Archive(data, embedder=model) as archive:
        stats = archive.stats()
        assert (stats["articles"], stats["passages"], stats["exact_copies"]) == (5, 16, 1)
        assert stats["schema_version"] == latest_version() and stats["backend"] == "onnx"
        # the index file predates lineage stamps: rebuilt from the stored vectors, not trusted
        assert len(archive.vectors.current()) == 16
        top = archive.search("talks on the withdrawal of US forces from Iraq").hits[0]
        assert top.article.id == SEED_ID
        wheat = archive.search("wheat exports to Egypt", mode="semantic").hits[0]
        assert wheat.article.id == "wheat-1" and wheat.also_in == ["Grain Daily"]
        assert archive.get("wheat-1-copy")["copy"] == "wheat-1-copy"
        # the old model fingerprint was recognised and replaced by today's scheme
        assert archive.store.get_meta("model_fingerprint") == model.fingerprint
        archive.ingest_articles([{"id": "new", "body": "Volcanic ash grounded flights."}])
        assert archive.search("volcano ash flights", mode="semantic").hits[0].article.id == "new"
