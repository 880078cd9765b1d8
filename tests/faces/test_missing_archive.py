"""A mistyped --data never creates an archive: only `ingest` (and `follow`, which ingests)
and `serve --create` make one; every other command says the archive is missing and exits 2,
before any model is loaded or exported."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsarchive.cli import main as cli

from conftest import SEED

runner = CliRunner()


def message(folder: Path) -> str:
    return (
        f"error: {folder}: no archive here (`newsarchive ingest` creates one; check --data or "
        "NEWSARCHIVE_DATA)"
    )


@pytest.mark.parametrize(
    "command",
    [["search", "oil"], ["stats"], ["show", "x"], ["remove", "x"], ["reindex"], ["serve"],
     ["eval", str(SEED)]],
)  # fmt: skip
def test_commands_that_read_refuse_a_missing_archive(tmp_path: Path, hash_backend, command):
    folder = tmp_path / "no-such-archive"
    result = runner.invoke(cli.app, [*command, "--data", str(folder)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert result.output.strip() == message(folder)
    assert not folder.exists()


def test_the_default_folder_is_not_created_either(tmp_path: Path, hash_backend, monkeypatch):
    folder = tmp_path / "default"
    monkeypatch.setenv("NEWSARCHIVE_DATA", str(folder))
    result = runner.invoke(cli.app, ["stats"], env={"COLUMNS": "300"})
    assert (result.exit_code, result.output.strip()) == (2, message(folder))
    assert not folder.exists()


def test_ingest_creates_the_archive(tmp_path: Path, hash_backend):
    folder = tmp_path / "new"
    assert runner.invoke(cli.app, ["ingest", str(SEED), "--data", str(folder)]).exit_code == 0
    assert (folder / "archive.db").is_file()
    assert runner.invoke(cli.app, ["stats", "--data", str(folder)]).exit_code == 0


def test_search_on_a_missing_archive_answers_at_once(tmp_path: Path):
    """The real command, default backend: no model export, no folder, one line, exit 2."""
    folder = tmp_path / "nonexistent"
    command = [sys.executable, "-m", "newsarchive", "search", "oil", "--data", str(folder)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip() == message(folder)
    assert not folder.exists()
    assert time.perf_counter() - started < 30  # was 16-44 s exporting the model there


def test_serve_creates_an_archive_only_when_asked(tmp_path: Path, hash_backend, monkeypatch):
    import uvicorn

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(options["port"]))
    folder = tmp_path / "served"
    result = runner.invoke(cli.app, ["serve", "--create", "--port", "8123", "--data", str(folder)])
    assert result.exit_code == 0, result.output
    assert served == [8123] and (folder / "archive.db").is_file()
