"""The `newsarchive` command as a user runs it (on the test embedder, chosen by name)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsarchive.archive.store.schema import latest_version
from newsarchive.cli import main as cli

from conftest import FIXTURES, SEED, SEED_ID

runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path, hash_backend) -> list[str]:
    return ["--data", str(tmp_path / "data")]


def invoke(*args: str):
    return runner.invoke(cli.app, list(args), catch_exceptions=False)


def test_ingest_search_show_stats_remove(data: list[str], news_file: Path):
    first = invoke("ingest", str(SEED), str(news_file), *data)
    assert first.exit_code == 0, first.output
    assert "5 articles: 5 new, 0 changed, 0 unchanged;" in first.output
    again = invoke("ingest", str(SEED), str(news_file), "--json", *data)
    report = json.loads(again.output)
    assert report["unchanged"] == 5 and report["passages_embedded"] == 0

    found = invoke("search", "talks on the withdrawal of US forces from Iraq", "--json", *data)
    result = json.loads(found.output)
    assert result["results"][0]["article"]["id"] == SEED_ID
    assert {"passage_id", "score", "text", "snippet", "highlights"} <= set(result["results"][0])

    lines = invoke("search", "grain", "--jsonl", "--limit", "2", *data).output.strip().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["article"] for line in lines)

    human = invoke("search", "wheat exports", "--limit", "1", *data)
    assert "Wheat exports climb" in human.output

    shown = invoke("show", "wheat-1", *data)
    assert "Wheat exports climb" in shown.output and "Chicago" in shown.output
    stats = json.loads(invoke("stats", "--json", *data).output)
    assert stats["articles"] == 5 and stats["schema_version"] == latest_version()

    assert invoke("remove", "wheat-1", *data).exit_code == 0
    gone = invoke("show", "wheat-1", *data)
    assert gone.exit_code == 1 and "no article with id 'wheat-1'" in gone.output
    assert invoke("reindex", *data).exit_code == 0


def test_ingest_exit_code_and_one_line_errors(data: list[str], tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "ok", "body": "A good line."}\n{oops\n')
    result = runner.invoke(cli.app, ["ingest", str(bad), str(tmp_path / "missing"), *data])
    assert result.exit_code == 1
    assert f"{bad}:2: malformed JSON" in result.output
    assert f"{tmp_path / 'missing'}: no such file or folder" in result.output
    assert "1 articles: 1 new" in result.output


def test_limits_are_the_same_as_the_api(data: list[str]):
    result = runner.invoke(
        cli.app, ["search", "oil", "--limit", "101", *data], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert "Invalid value for '--limit' / '-n': Input should be less than or equal to 100" in (
        result.output
    )


def test_search_shows_also_in_and_no_collapse(data: list[str]):
    result = invoke("ingest", str(FIXTURES / "wire.rss"), str(FIXTURES / "wire.atom"), *data)
    assert "1 exact copies of stored articles" in result.output
    shown = invoke("search", "ferry timetable", "--mode", "keyword", *data)
    assert "also in: herald.example" in shown.output
    as_json = invoke("search", "ferry timetable", "--json", "--no-collapse", *data)
    assert json.loads(as_json.output)["results"][0]["also_in"] == ["herald.example"]


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
        "print(*(m in sys.modules for m in ('sentence_transformers', 'torch', 'faiss', "
        "'onnxruntime')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False False False False", done.stderr


def test_search_through_a_server_skips_the_local_archive_stack():
    """With NEWSARCHIVE_URL the CLI needs only an HTTP client: no SQLite layer, FAISS or model."""
    code = (
        "import sys; from newsarchive.cli import main; from newsarchive.archive import remote;"
        "print(*(m in sys.modules for m in ('sqlite_utils', 'faiss', 'onnxruntime', 'torch')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False False False False", done.stderr
