"""Schema migrations: an archive made with the schema from before migrations is brought forward
on open, nothing stored is lost, and two processes opening a new archive at once do not race."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np

from newsarchive.archive import Archive
from newsarchive.archive.store.schema import INITIAL, latest_version, migrations
from newsarchive.archive.store.store import Store


def old_archive(path: Path, embedder) -> None:
    """An archive as the code before migrations wrote it: the same DDL, no migrations table,
    one article and one exact copy kept under the old table name."""
    path.mkdir(parents=True)
    conn = sqlite3.connect(path / "archive.db")
    for statement in INITIAL:
        conn.execute(statement)
    vector = embedder.encode(["Ferries run to a winter timetable from Monday."])[0]
    conn.execute(
        "INSERT INTO articles (id, title, source, text_hash, meta_hash, passage_count, "
        "ingested_at, updated_at) VALUES ('ferry', 'Ferry timetable', 'Gazette', 'x', 'y', 1, "
        "'2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')"
    )
    conn.execute(
        "INSERT INTO passages (article_id, position, text, text_hash, vector) VALUES "
        "('ferry', 0, 'Ferries run to a winter timetable from Monday.', 'h', ?)",
        [np.asarray(vector, np.float32).tobytes()],
    )
    conn.execute(
        "INSERT INTO article_sources (alias_id, article_id, source) "
        "VALUES ('herald-ferry', 'ferry', 'Herald')"
    )
    meta = {
        "generation": "1",
        "model_fingerprint": embedder.fingerprint,
        "model_name": embedder.name,
        "dimension": str(embedder.dimension),
        "backend": embedder.backend,
    }
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
    conn.commit()
    conn.close()


def test_old_schema_is_migrated_on_open(tmp_path: Path, hash_embedder):
    data = tmp_path / "old"
    old_archive(data, hash_embedder)
    with Archive(data, embedder=hash_embedder) as archive:
        assert (
            archive.stats()["schema_version"]
            == len(migrations.applied(archive.store.db))
            == latest_version()
        )
        hit = archive.search("winter ferry timetable").hits[0]
        assert (hit.article.id, hit.also_in) == ("ferry", ["Herald"])
        assert archive.get("herald-ferry")["copy"] == "herald-ferry"
        tables = set(archive.store.db.table_names())
        assert "article_copies" in tables and "article_sources" not in tables
    with Archive(data, embedder=hash_embedder) as archive:  # nothing left to apply
        assert archive.stats()["schema_version"] == latest_version()


def test_concurrent_opens_of_a_new_archive_migrate_once(tmp_path: Path):
    path = tmp_path / "new" / "archive.db"
    failures: list[BaseException] = []

    def open_store() -> None:
        try:
            Store(path).close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    store = Store(path)
    assert store.schema_version() == latest_version()
    store.close()


def test_metadata_fields_of_an_archive_from_before_m004_are_counted(tmp_path: Path, hash_embedder):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest_articles(
            [
                {"id": "a", "body": "Wheat harvest starts.", "topics": ["grain"]},
                {"id": "b", "body": "Oil output steady.", "topics": ["crude"], "desk": "energy"},
            ]
        )
        db = archive.store.db
        db.execute("DROP TABLE metadata_fields")
        db.execute("DROP TABLE outlets")
        db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm004_outlets_and_fields'")
        db.conn.commit()
    with Archive(data, embedder=hash_embedder) as archive:
        rows = archive.store.db.execute("SELECT name, articles FROM metadata_fields").fetchall()
        assert sorted(rows) == [("desk", 1), ("topics", 2)]
        assert archive.store.metadata_fields() == {"desk", "topics"}
