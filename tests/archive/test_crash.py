"""The crash matrix: a real `newsarchive ingest` of a few hundred articles is SIGKILLed at each
stage of its work (reading, encoding, inside a database transaction, between the commits and
the FAISS save, during the FAISS save, during a forced re-embedding, during the model export).
Every kill leaves whole batches only, nothing duplicated, and the next run embeds exactly the
rest; the FAISS file ends with every passage's own vector and no temporary file is left."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsarchive.archive import Archive

from conftest import write_jsonl
from processes import COMMAND, assert_every_vector_is_its_own, hash_env

pytestmark = pytest.mark.slow

ARTICLES = 300
BATCH = 64
CRASHPOINTS = Path(__file__).with_name("crashpoints.py")


def article(i: int) -> dict:
    """Two paragraphs of ~90 distinct words each: two passages, every text unique."""
    first = " ".join(f"wd{i}a{j}" for j in range(90))
    second = " ".join(f"wd{i}b{j}" for j in range(90))
    return {"id": f"art-{i}", "title": f"Article {i}", "body": f"{first}.\n\n{second}."}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, int]:
    """The corpus and how many passages it makes (one clean ingest, in process)."""
    folder = tmp_path_factory.mktemp("corpus")
    path = write_jsonl(folder / "corpus.jsonl", [article(i) for i in range(ARTICLES)])
    from newsarchive.index.embedders.hashing import HashEmbedder

    with Archive(folder / "reference", embedder=HashEmbedder()) as reference:
        report = reference.ingest([path])
    assert report.new == ARTICLES
    return path, report.passages_embedded


def state(data: Path) -> tuple[int, int]:
    """(articles, passages) committed, checking nothing is half-written or duplicated."""
    if not (data / "archive.db").exists():
        return 0, 0
    conn = sqlite3.connect(data / "archive.db")
    try:
        articles = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        passages = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        broken = conn.execute(
            "SELECT a.id FROM articles a LEFT JOIN passages p ON p.article_id = a.id "
            "GROUP BY a.id HAVING COUNT(p.id) != a.passage_count "
            "OR COUNT(DISTINCT p.position) != COUNT(p.id)"
        ).fetchall()
    finally:
        conn.close()
    assert broken == []
    return articles, passages


def killed_at(point: str, count: int, args: list[str], tmp_path: Path) -> None:
    """Run `newsarchive ARGS` until it reaches `point` the `count`-th time, then SIGKILL it."""
    marker = tmp_path / f"reached-{point}-{count}"
    process = subprocess.Popen(
        [sys.executable, str(CRASHPOINTS), point, str(count), *args],
        env=hash_env(CRASH_MARKER=str(marker)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, f"never reached {point}"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()


def rerun(path: Path, data: Path, *extra: str) -> dict:
    done = subprocess.run(
        [*COMMAND, "ingest", str(path), "--data", str(data), "--json", *extra],
        env=hash_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_whole(data: Path, passages_total: int) -> None:
    assert state(data) == (ARTICLES, passages_total)
    assert_every_vector_is_its_own(data)
    assert not [p.name for p in data.iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize(
    ("point", "count"),
    [
        ("encode", 1),  # the first batch is being embedded: nothing committed yet
        ("encode", 4),  # later: earlier batches committed, the next ones in the pipeline
        ("write", 10),  # inside the first batch's transaction
        ("write", 3 * BATCH + 20),  # inside the fourth batch's transaction
        ("after-commit", 1),  # every batch committed, the FAISS file not saved
        ("index-save", 1),  # the FAISS file half-saved (written, not renamed)
    ],
)
def test_kill_at_each_stage_then_rerun_embeds_only_the_rest(
    corpus: tuple[Path, int], tmp_path: Path, point: str, count: int
):
    path, total = corpus
    data = tmp_path / "data"
    killed_at(point, count, ["ingest", str(path), "--data", str(data)], tmp_path)
    articles, passages = state(data)
    assert articles % BATCH == 0 or articles == ARTICLES  # whole batches only
    if point in ("after-commit", "index-save"):
        assert articles == ARTICLES
    report = rerun(path, data)
    assert report["new"] == ARTICLES - articles
    assert report["unchanged"] == articles
    assert report["passages_embedded"] == total - passages
    assert_whole(data, total)


def test_kill_while_reading_stdin(corpus: tuple[Path, int], tmp_path: Path):
    path, total = corpus
    data = tmp_path / "data"
    lines = path.read_text().splitlines(keepends=True)
    process = subprocess.Popen(
        [*COMMAND, "ingest", "-", "--data", str(data)],
        env=hash_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    process.stdin.write("".join(lines[:150]).encode())
    process.stdin.flush()
    deadline = time.monotonic() + 120
    while state(data)[0] < 2 * BATCH:  # two batches are in; the process waits for more input
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdin.close()
    articles, passages = state(data)
    assert articles == 2 * BATCH
    report = rerun(path, data)
    assert (report["new"], report["passages_embedded"]) == (ARTICLES - articles, total - passages)
    assert_whole(data, total)


def test_kill_during_a_forced_reembedding_then_force_resumes(
    corpus: tuple[Path, int], tmp_path: Path
):
    path, total = corpus
    data = tmp_path / "data"
    rerun(path, data)
    with sqlite3.connect(data / "archive.db") as conn:
        mark = conn.execute("SELECT MAX(id) FROM passages").fetchone()[0]
    killed_at("encode", 4, ["ingest", str(path), "--data", str(data), "--force"], tmp_path)
    articles, passages = state(data)
    assert (articles, passages) == (ARTICLES, total)  # replaced batch by batch, never lost
    with sqlite3.connect(data / "archive.db") as conn:
        redone = conn.execute("SELECT COUNT(*) FROM passages WHERE id > ?", [mark]).fetchone()[0]
    assert redone > 0 and redone % (2 * BATCH) == 0
    report = rerun(path, data, "--force")
    assert report["passages_embedded"] == total - redone
    assert report["changed"] == ARTICLES - redone // 2
    assert_whole(data, total)


def test_kill_during_the_model_export_leaves_nothing_behind(tmp_path: Path):
    """The ONNX export (the real model, exported once per machine into the model cache) killed
    half-way: its temporary files are removed by the next run; nothing of the archive is lost."""
    data = tmp_path / "data"
    cache = tmp_path / "cache"
    models = cache / "models"
    path = write_jsonl(tmp_path / "one.jsonl", [article(0)])
    env = hash_env(NEWSARCHIVE_BACKEND="onnx", NEWSARCHIVE_CACHE=str(cache))
    process = subprocess.Popen(
        [*COMMAND, "ingest", str(path), "--data", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while not list(models.glob("*/export.tmp*/*")):
        assert process.poll() is None, "the export ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    left = list(models.glob("*/export.tmp*"))
    assert left and not list(models.glob("*/model.onnx"))
    assert state(data) == (0, 0)
    from newsarchive.index.embedders import make_embedder
    from newsarchive.index.embedders.onnx_export import remove_stale_exports

    make_embedder("onnx", cache_dir=models)  # the next run's embedder cleans up first
    assert not list(models.glob("*/export.tmp*"))
    assert remove_stale_exports(models) == []
