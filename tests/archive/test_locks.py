"""Writers and readers: a read never waits for a writer (in this process or another), a write
that cannot get the lock in time is a 503 with Retry-After, one ingest writes an archive at a
time across processes, and a full disk is a clear message with nothing half-written."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from newsarchive.api.app import create_app
from newsarchive.archive import Archive, ArchiveBusy, StorageFull
from newsarchive.archive.locks import WriterLock
from newsarchive.cli import main as cli

from conftest import NEWS, SEED, write_jsonl
from processes import COMMAND, corpus, hash_env


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another process's write transaction, as `sqlite3 archive.db 'BEGIN IMMEDIATE; ...'`."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO meta(key, value) VALUES ('held', 'yes')")
    return conn


def test_reads_never_wait_for_a_writer_and_a_blocked_write_is_503(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
):
    archive.ingest([SEED])
    monkeypatch.setenv("NEWSARCHIVE_LOCK_TIMEOUT", "3")
    blocked = Archive(archive.path, embedder=archive.embedder)  # the server's own archive
    blocker = hold_write_lock(archive.path / "archive.db")
    with TestClient(create_app(blocked)) as client:
        posted: dict = {}

        def post() -> None:
            started = time.monotonic()
            posted["response"] = client.post("/articles", json=NEWS[0])
            posted["seconds"] = time.monotonic() - started

        writer = threading.Thread(target=post, daemon=True)
        writer.start()
        time.sleep(0.5)  # the write is now waiting for SQLite's lock
        answers: list = []

        def read() -> None:
            started = time.monotonic()
            for _ in range(5):
                answers.append(client.get("/search", params={"q": "Iraq troops"}).status_code)
            answers.append(client.get("/stats").status_code)
            answers.append(time.monotonic() - started)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout=2.5)
        assert not reader.is_alive(), "a read waited for the blocked write"
        assert answers[:6] == [200] * 6 and answers[6] < 2.5
        writer.join(timeout=30)
        response = posted["response"]
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert (
            "another process is writing to the archive; nothing was written"
            in (response.json()["error"])
        )
        assert 2.5 < posted["seconds"] < 15
        blocker.rollback()
        blocker.close()
        again = client.post("/articles", json=NEWS[0])
        assert again.status_code == 200 and again.json()["new"] == 1
    blocked.close()


def test_second_ingest_refuses_with_no_wait_or_waits_with_a_message(
    tmp_path: Path, hash_backend, news_file: Path
):
    data = tmp_path / "data"
    data.mkdir()
    runner = CliRunner()
    with WriterLock(data).held():
        refused = runner.invoke(
            cli.app, ["ingest", str(news_file), "--data", str(data), "--no-wait"]
        )
        assert refused.exit_code == 2
        assert "another process is ingesting into this archive (pid " in refused.output
        assert refused.output.count("\n") == 1
        waiting = subprocess.Popen(
            [*COMMAND, "ingest", str(news_file), "--data", str(data), "--json"],
            env=hash_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(4)
        assert waiting.poll() is None  # still waiting for the lock
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert "waiting for another process writing to this archive (pid " in err
    assert json.loads(out)["new"] == 4


def test_two_ingests_at_once_embed_each_article_once(tmp_path: Path):
    data = tmp_path / "data"
    path = write_jsonl(tmp_path / "many.jsonl", corpus(0, 400))
    # the second waits for the first's whole ingest: past the 10 s default on a busy machine
    env = hash_env(NEWSARCHIVE_LOCK_TIMEOUT="120")
    runs = [
        subprocess.Popen(
            [*COMMAND, "ingest", str(path), "--data", str(data), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    reports = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        reports.append(json.loads(out))
    assert sorted(r["new"] for r in reports) == [0, 400]
    assert sum(r["passages_embedded"] for r in reports) == 400
    assert sorted(r["unchanged"] for r in reports) == [0, 400]


def test_a_full_disk_is_one_clear_error_and_nothing_half_written(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
):
    archive.ingest_articles(corpus(0, 64))
    before = archive.stats()
    pages = archive.store.conn.execute("PRAGMA page_count").fetchone()[0]
    archive.store.conn.execute(f"PRAGMA max_page_count = {pages + 3}")  # the disk fills up
    big = [dict(r, body=r["body"] + " filler" * 4000) for r in corpus(100, 164)]
    with pytest.raises(StorageFull, match="the disk is full; this write was rolled back"):
        archive.ingest_articles(big)
    archive.store.conn.execute("PRAGMA max_page_count = 1073741823")
    after = archive.stats()
    assert (after["articles"], after["passages"], after["generation"]) == (
        before["articles"],
        before["passages"],
        before["generation"],
    )
    assert archive.check()["ok"]

    import faiss

    def no_space(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", no_space)
    report = archive.ingest_articles(corpus(200, 210))
    assert report.new == 10
    assert "the vector index could not be saved (No space left on device)" in report.warnings[0]
    assert not list(archive.path.glob("*.tmp"))
    monkeypatch.undo()
    with Archive(archive.path, embedder=archive.embedder) as reopened:
        assert reopened.stats()["passages"] == after["passages"] + 10
        assert reopened.check()["ok"]


def test_lock_file_names_its_holder_and_is_released_when_the_holder_dies(tmp_path: Path):
    holder = subprocess.Popen(
        [
            os.sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from newsarchive.archive.locks import WriterLock\n"
            "with WriterLock(Path(sys.argv[1])).held():\n"
            "    print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(ArchiveBusy, match=f"pid {holder.pid}"):
        with WriterLock(tmp_path).held(wait=0.2):
            pass
    holder.kill()
    holder.wait()
    with WriterLock(tmp_path).held(wait=5):
        pass


def test_a_post_while_an_ingest_holds_the_archive_is_503(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("NEWSARCHIVE_LOCK_TIMEOUT", "0.5")
    server = Archive(archive.path, embedder=archive.embedder)
    with TestClient(create_app(server, warm=False)) as client:
        with WriterLock(archive.path).held():  # a `newsarchive ingest` is running
            busy = client.post("/articles", json=NEWS[1])
            assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
            assert "another process is ingesting into this archive (pid " in busy.json()["error"]
            assert client.get("/search", params={"q": "oil"}).status_code == 200
        assert client.post("/articles", json=NEWS[1]).json()["new"] == 1
    server.close()


def test_threads_sharing_an_archive_take_turns_with_the_same_patience(tmp_path: Path):
    lock = WriterLock(tmp_path)
    with lock.held():
        with pytest.raises(ArchiveBusy, match="another request of this process is writing"):
            with lock.held(wait=0.2):
                pass
        with pytest.raises(ArchiveBusy):
            with lock.held(wait=False):
                pass
    with lock.held(wait=False):
        pass
