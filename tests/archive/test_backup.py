"""Backups that restore: a consistent copy with a manifest and checksums (also while `serve`
answers and an ingest writes), a verified restore, and `check`, which says what `reindex`
repairs; a damaged database is one line, in `stats` too."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import faiss
import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from newsarchive.archive import Archive, ArchiveDamaged, ArchiveError
from newsarchive.cli import main as cli

from conftest import NEWS, SEED, SEED_ID
from processes import COMMAND, assert_every_vector_is_its_own, corpus, hash_env, serving

runner = CliRunner()


@pytest.fixture
def filled(archive: Archive) -> Archive:
    archive.ingest([SEED])
    archive.ingest_articles(NEWS)
    return archive


def test_backup_and_restore_give_the_same_archive(filled: Archive, tmp_path: Path):
    manifest = filled.backup(tmp_path / "backup")
    assert manifest["archive_id"] == filled.store.lineage()[0]
    assert manifest["generation"] == filled.stats()["generation"]
    assert manifest["schema_version"] == filled.stats()["schema_version"]
    assert (manifest["articles"], manifest["passages"]) == (5, filled.stats()["passages"])
    assert set(manifest["files"]) == {"archive.db", "vectors.faiss", "vectors.json"}
    stored = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert stored == manifest
    assert not list(tmp_path.glob(".backup.partial-*"))

    result = Archive.restore(tmp_path / "backup", tmp_path / "restored")
    assert (result["articles"], result["replaced"]) == (5, None)
    with Archive(tmp_path / "restored", embedder=filled.embedder) as restored:
        query = "talks on the withdrawal of US troops"
        assert (
            restored.search(query).to_dict()["results"]
            == (filled.search(query).to_dict()["results"])
        )
        assert restored.vectors.current() is not None and restored.vectors.rebuilt_because is None
        assert restored.check()["ok"]


def test_restore_refuses_damaged_or_foreign_backups_and_keeps_what_is_there(
    filled: Archive, tmp_path: Path
):
    filled.backup(tmp_path / "backup")
    with pytest.raises(ArchiveError, match="already exists and is not an empty folder"):
        filled.backup(tmp_path / "backup")
    with pytest.raises(ArchiveError, match="already holds an archive; pass --replace"):
        Archive.restore(tmp_path / "backup", filled.path)
    with pytest.raises(ArchiveError, match="not a newsarchive backup"):
        Archive.restore(tmp_path, tmp_path / "elsewhere")
    tampered = tmp_path / "backup" / "archive.db"
    data = bytearray(tampered.read_bytes())
    data[-100] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(ArchiveDamaged, match="does not match its checksum"):
        Archive.restore(tmp_path / "backup", tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()


def test_restore_replace_puts_the_current_archive_aside(
    tmp_path: Path, hash_embedder, hash_backend
):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest_articles(NEWS[:2])
        archive.backup(tmp_path / "backup")
        archive.ingest_articles(NEWS[2:])
    result = runner.invoke(
        cli.app, ["restore", str(tmp_path / "backup"), "--data", str(data), "--replace"]
    )
    assert result.exit_code == 0, result.output
    assert "restored 2 articles" in result.output
    aside = list(tmp_path.glob("data.replaced-*"))
    assert len(aside) == 1 and (aside[0] / "archive.db").exists()
    with Archive(data, embedder=hash_embedder) as archive:
        assert archive.stats()["articles"] == 2
    with Archive(aside[0], embedder=hash_embedder) as archive:
        assert archive.stats()["articles"] == 4


def test_backup_check_and_restore_from_the_cli(tmp_path: Path, hash_embedder, hash_backend):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest([SEED])
    backed = runner.invoke(cli.app, ["backup", str(tmp_path / "b"), "--data", str(data)])
    assert backed.exit_code == 0, backed.output
    assert backed.output.startswith("backed up 1 articles, 12 passages (generation 1,")
    checked = runner.invoke(cli.app, ["check", "--data", str(data)])
    assert checked.exit_code == 0, checked.output
    assert "all checks passed" in checked.output
    restored = runner.invoke(
        cli.app, ["restore", str(tmp_path / "b"), "--data", str(tmp_path / "r"), "--json"]
    )
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.output)["articles"] == 1
    missing = runner.invoke(
        cli.app, ["backup", str(tmp_path / "c"), "--data", str(tmp_path / "no")]
    )
    assert missing.exit_code == 2 and "no archive here" in missing.output


def test_check_says_what_reindex_repairs_and_reindex_repairs_it(
    tmp_path: Path, hash_embedder, hash_backend
):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest_articles(corpus(0, 30))
        archive.ingest([SEED])
    # The keyword index loses a passage; the vector index holds wrong vectors for its ids.
    conn = sqlite3.connect(data / "archive.db")
    pid, text = conn.execute("SELECT id, text FROM passages ORDER BY id LIMIT 1").fetchone()
    conn.execute(
        "INSERT INTO passages_fts(passages_fts, rowid, text) VALUES('delete', ?, ?)", [pid, text]
    )
    conn.commit()
    conn.close()
    index = faiss.read_index(str(data / "vectors.faiss"))
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    wrong = faiss.IndexIDMap2(faiss.IndexFlatIP(index.d))
    rng = np.random.default_rng(0)
    wrong.add_with_ids(rng.standard_normal((len(ids), index.d)).astype(np.float32), ids)
    faiss.write_index(wrong, str(data / "vectors.faiss"))

    checked = runner.invoke(cli.app, ["check", "--data", str(data)])
    assert checked.exit_code == 1, checked.output
    assert "repair: reindex rebuilds the keyword index from the passages" in checked.output
    assert f"({len(ids)} wrong vectors)" in checked.output.replace("\n", " ")
    with Archive(data, embedder=hash_embedder) as archive:
        report = archive.check()
        assert report["vector_index"]["wrong_vectors"] == len(ids)
        assert report["keyword_index"] != "ok" and not report["unrepairable"]
    repaired = runner.invoke(cli.app, ["reindex", "--data", str(data)])
    assert repaired.exit_code == 0 and "keyword index rebuilt" in repaired.output
    assert runner.invoke(cli.app, ["check", "--data", str(data)]).exit_code == 0
    assert_every_vector_is_its_own(data)


def test_damaged_database_is_one_line_in_stats_and_check(
    tmp_path: Path, hash_embedder, hash_backend
):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest_articles(corpus(0, 300))
    size = (data / "archive.db").stat().st_size
    with (data / "archive.db").open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\xde\xad\xbe\xef" * 2048)
    stats = subprocess.run(
        [*COMMAND, "stats", "--data", str(data)], env=hash_env(), capture_output=True, text=True
    )
    assert stats.returncode == 2
    assert stats.stderr.count("\n") == 1 and "Traceback" not in stats.stderr
    assert "archive.db: the database is damaged (" in stats.stderr
    checked = runner.invoke(cli.app, ["check", "--data", str(data)])
    assert checked.exit_code == 1
    assert "damaged: the database is damaged: restore a backup" in checked.output
    (data / "archive.db").write_bytes(b"not a database at all" * 100)
    for command in (["stats"], ["search", "harbour"], ["ingest", str(SEED)]):
        result = runner.invoke(cli.app, [*command, "--data", str(data)])
        assert result.exit_code == 2, command
        assert "the database is damaged (file is not a database)" in result.output


@pytest.mark.slow
def test_backup_while_serve_answers_and_an_ingest_writes(tmp_path: Path, hash_embedder):
    """A backup taken mid-ingest is a whole-batch prefix, every vector its own, and the server
    answers every search meanwhile."""
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest_articles(corpus(0, 64))
    env = hash_env()
    lines = [json.dumps(record) + "\n" for record in corpus(1000, 1640)]  # ten batches
    failures: list[str] = []
    answered = []
    done = threading.Event()
    with serving(data, env) as url:

        def search() -> None:
            with httpx.Client(base_url=url, timeout=30) as client:
                while not done.is_set():
                    try:
                        response = client.get("/search", params={"q": "harbour cranes tides"})
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))
                        return
                    answered.append(response.status_code)
                    if response.status_code != 200:
                        failures.append(response.text)

        searcher = threading.Thread(target=search)
        searcher.start()
        ingest = subprocess.Popen(
            [*COMMAND, "ingest", "-", "--data", str(data), "--json"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for start in range(0, 320, 64):  # half the batches, then the backup, then the rest
            ingest.stdin.write("".join(lines[start : start + 64]).encode())
            ingest.stdin.flush()
            time.sleep(0.2)
        backup = subprocess.run(
            [*COMMAND, "backup", str(tmp_path / "backup"), "--data", str(data), "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        out, err = ingest.communicate("".join(lines[320:]).encode(), timeout=120)
        done.set()
        searcher.join()
    assert backup.returncode == 0, backup.stderr
    assert ingest.returncode == 0, err
    assert json.loads(out)["new"] == 640, err
    assert failures == [] and len(answered) > 5
    manifest = json.loads(backup.stdout)
    assert manifest["articles"] % 64 == 0 and 64 <= manifest["articles"] <= 704
    Archive.restore(tmp_path / "backup", tmp_path / "restored")
    with Archive(tmp_path / "restored", embedder=hash_embedder) as restored:
        assert restored.check()["ok"]
        assert restored.stats()["articles"] == manifest["articles"]
        assert restored.stats()["passages"] == manifest["passages"]
        assert restored.vectors.rebuilt_because is None
    assert_every_vector_is_its_own(tmp_path / "restored")
    with Archive(data, embedder=hash_embedder) as archive:
        assert archive.stats()["articles"] == 704 and archive.get(SEED_ID) is None
