"""The `newsarchive` command as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsarchive.archive import Archive
from newsarchive.cli import main as cli

from conftest import SEED

runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path, embedder, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setattr(cli, "open_archive", lambda d: Archive(d or folder, embedder=embedder))
    return folder


def invoke(*args: str):
    return runner.invoke(cli.app, list(args), catch_exceptions=False)


def test_ingest_search_show_stats_remove(data: Path, news_file: Path):
    first = invoke("ingest", str(SEED), str(news_file))
    assert first.exit_code == 0, first.output
    assert "5 articles: 5 new, 0 changed, 0 unchanged;" in first.output
    again = invoke("ingest", str(SEED), str(news_file), "--json")
    report = json.loads(again.output)
    assert report["unchanged"] == 5 and report["passages_embedded"] == 0

    found = invoke("search", "talks on the withdrawal of US forces from Iraq", "--json")
    result = json.loads(found.output)
    assert result["results"][0]["article"]["id"] == "000_4270a9efd2e10240"
    assert {"passage_id", "score", "text", "snippet", "highlights"} <= set(result["results"][0])

    lines = invoke("search", "grain", "--jsonl", "--limit", "2").output.strip().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["article"] for line in lines)

    human = invoke("search", "wheat exports", "--limit", "1")
    assert "Wheat exports climb" in human.output

    shown = invoke("show", "wheat-1")
    assert "Wheat exports climb" in shown.output and "Chicago" in shown.output
    stats = json.loads(invoke("stats", "--json").output)
    assert stats["articles"] == 5

    assert invoke("remove", "wheat-1").exit_code == 0
    assert invoke("show", "wheat-1").exit_code == 1
    assert invoke("reindex").exit_code == 0


def test_ingest_exit_code_and_one_line_errors(data: Path, tmp_path: Path, news_file: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "ok", "body": "A good line."}\n{oops\n')
    result = runner.invoke(cli.app, ["ingest", str(bad), str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert f"{bad}:2: malformed JSON" in result.output
    assert f"{tmp_path / 'missing'}: no such file or folder" in result.output
    assert "1 articles: 1 new" in result.output


def test_console_script_errors_are_one_line(tmp_path: Path):
    command = [sys.executable, "-m", "newsarchive", "search", "", "--data", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: query is empty"
    assert "Traceback" not in done.stderr


def test_help_does_not_import_the_model():
    code = (
        "import sys; from typer.testing import CliRunner; from newsarchive.cli.main import app;"
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0;"
        "print('sentence_transformers' in sys.modules, 'torch' in sys.modules, 'faiss' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False False False"


def test_search_through_a_server_skips_the_local_archive_stack():
    """With NEWSARCHIVE_URL the CLI needs only an HTTP client: no SQLite layer, FAISS or model."""
    code = (
        "import sys; from newsarchive.cli import main; from newsarchive.archive import remote;"
        "print(*(m in sys.modules for m in ('sqlite_utils', 'faiss', 'onnxruntime', 'torch')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False False False False", done.stderr
