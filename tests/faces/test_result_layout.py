"""Results shown for people, at a fixed terminal width: the score stays on the title's line,
wrapped lines keep their indent, the URL is printed once and never broken, the author is
shown, one line says what the score means, `show` says when an id is stored as a copy, and
`eval` prints per-query lines and a confidence interval when comparing modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from newsarchive.cli import main as cli
from newsarchive.cli.output import SCORE_MEANING

from conftest import FIXTURES, NEWS, write_jsonl

runner = CliRunner()
PAGES = FIXTURES / "pages"
GUARDIAN = json.loads((PAGES / "guardian" / "expected.json").read_text())


@pytest.fixture
def data(tmp_path: Path, hash_backend) -> list[str]:
    folder = ["--data", str(tmp_path / "data")]
    pages = [str(PAGES / n / "page.html") for n in ("guardian", "verge", "spiegel")]
    result = runner.invoke(cli.app, ["ingest", *pages, *folder])
    assert result.exit_code == 0, result.output
    return folder


def shown(monkeypatch, width: int, *args: str) -> list[str]:
    """The command's terminal output at `width` columns, without colour."""
    monkeypatch.setattr(cli, "console", Console(width=width, color_system=None))
    result = runner.invoke(cli.app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [line.rstrip() for line in result.output.splitlines()]


@pytest.mark.parametrize("width", [80, 120])
def test_search_results_read_well_at_80_and_120_columns(monkeypatch, data, width: int):
    lines = shown(monkeypatch, width, "search", "reservoir levels January", "--limit", "3", *data)
    url = GUARDIAN["url"]
    assert lines[0].startswith(" 1. Reservoir levels") and lines[0].endswith(lines[0].split()[-1])
    score = lines[0].split()[-1]
    assert float(score) > 0  # on the title's line, not a line of its own
    block = lines[: lines.index("")]
    assert [line for line in block if url in line] == [f"    {url}"]  # once, whole
    assert sum(url in line for line in lines) == 1 and "(id" not in "\n".join(lines)
    assert "    the Guardian · 2020-01-20 06:05 UTC · by Helen Marsh" in block
    for line in block[1:]:
        assert line.startswith("    ")  # wrapped lines keep the indent
        assert len(line) <= width or line == f"    {url}"
    assert lines[-1] == SCORE_MEANING["hybrid"] and len(lines[-1]) < 80
    if width == 80:
        assert any(len(line) > 70 for line in block) and len(block) >= 5  # it did wrap


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_one_line_says_what_the_score_means(monkeypatch, data, mode: str):
    lines = shown(monkeypatch, 80, "search", "battery", "--mode", mode, *data)
    assert lines[-1] == SCORE_MEANING[mode]


def test_show_says_when_an_id_is_stored_as_a_copy(monkeypatch, tmp_path: Path, hash_backend):
    folder = ["--data", str(tmp_path / "data")]
    news = write_jsonl(tmp_path / "n.jsonl", NEWS + [dict(NEWS[0], id="wheat-copy", source="GD")])
    assert runner.invoke(cli.app, ["ingest", str(news), *folder]).exit_code == 0
    lines = shown(monkeypatch, 100, "show", "wheat-copy", *folder)
    assert lines[:3] == [
        "Wheat exports climb",
        "Reuters · 1987-03-02",
        "wheat-copy is stored as an exact copy of wheat-1 (the same text); this is that article",
    ]
    plain = shown(monkeypatch, 100, "show", "wheat-1", *folder)
    assert plain[2] == "copies: wheat-copy (GD, exact copy)"


def test_eval_per_query_and_a_confidence_interval(monkeypatch, tmp_path: Path, hash_backend):
    folder = ["--data", str(tmp_path / "data")]
    assert (
        runner.invoke(
            cli.app, ["ingest", str(write_jsonl(tmp_path / "n.jsonl", NEWS)), *folder]
        ).exit_code
        == 0
    )
    queries = write_jsonl(
        tmp_path / "q.jsonl",
        [{"qid": "q1", "query": "Late goal wins the derby", "relevant_ids": ["football-1"]},
         {"qid": "q2", "query": "Cats adopt a lighthouse", "relevant_ids": ["nowhere"]}],
    )  # fmt: skip
    args = ["eval", str(queries), "--mode", "keyword", "--mode", "hybrid", "--per-query", *folder]
    text = "\n".join(shown(monkeypatch, 160, *args))
    assert "paired difference, 95% bootstrap interval, randomisation p" in text
    assert "hybrid - keyword" in text and "per query (keyword)" in text
    assert "│ q1  │              1 │ Late goal wins the derby" in text
    assert "│ q2  │              - │" in text
    as_json = json.loads(runner.invoke(cli.app, [*args, "--json"]).output)
    assert set(as_json) == {"modes", "comparisons"}
    assert as_json["modes"][0]["per_query"][0]["first_relevant"] == 1
