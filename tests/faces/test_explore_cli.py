"""The exploring commands as a user runs them (timeline, facets, list, similar, export, watch,
and search's new flags), on the test embedder chosen by name."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsarchive.cli import main as cli

from explore_corpus import WORDS_ONLY, corpus_file

runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path, hash_backend) -> list[str]:
    args = ["--data", str(tmp_path / "data")]
    done = runner.invoke(cli.app, ["ingest", str(corpus_file(tmp_path)), *args])
    assert done.exit_code == 0, done.output
    return args


def invoke(*args: str):
    return runner.invoke(cli.app, list(args), catch_exceptions=False, env={"COLUMNS": "100"})


def test_search_footer_names_results_and_matching_articles(data: list[str]):
    found = invoke("search", WORDS_ONLY, "--limit", "2", *data)
    assert found.exit_code == 0, found.output
    assert "2 of 15 results (7 matching articles) (hybrid)" in found.output
    assert "next page: --after " in found.output
    march = invoke("search", WORDS_ONLY, "--since", "1987-03-01", "--until", "1987-03-31",
                   "--json", *data)  # fmt: skip
    assert json.loads(march.output)["total"] == 3


def test_search_timeline_facets_and_date_order(data: list[str]):
    shown = invoke("search", WORDS_ONLY, "--limit", "1", "--timeline", "month", "--facet",
                   "source", *data)  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert "per month" in shown.output
    assert "1987-03 ████" in shown.output and "50.0%" in shown.output
    assert "Reuters" in shown.output and "(missing)" not in shown.output
    newest = json.loads(invoke("search", WORDS_ONLY, "--sort", "newest", "--limit", "3",
                               "--json", *data).output)  # fmt: skip
    assert [h["article"]["id"] for h in newest["results"]] == ["w6", "w5", "w4"]
    rest = json.loads(invoke("search", WORDS_ONLY, "--sort", "newest", "--after", newest["next"],
                             "--json", *data).output)  # fmt: skip
    assert [h["article"]["id"] for h in rest["results"]] == ["w3", "w2", "w1", "w7"]
    bad = invoke("search", WORDS_ONLY, "--sort", "date", *data)
    assert bad.exit_code == 2
    assert "sort: Input should be 'relevance', 'newest' or 'oldest'" in bad.output


def test_timeline_and_facets_commands(data: list[str]):
    chart = invoke("timeline", WORDS_ONLY, "--interval", "month", *data)
    assert chart.exit_code == 0, chart.output
    lines = chart.output.splitlines()
    assert lines[0].startswith("per month") and "1 undated" in lines[0]
    assert lines[1].startswith("1987-03 ") and lines[1].rstrip().endswith("3   50.0%")
    assert lines[3].startswith("1987-05 ") and lines[3].rstrip().endswith("0    0.0%")
    assert "7 matching articles" in chart.output
    document = json.loads(invoke("timeline", WORDS_ONLY, "--interval", "month", "--json",
                                 *data).output)  # fmt: skip
    assert document["total"] == 7 and document["timeline"]["buckets"][0]["count"] == 3
    facets = json.loads(invoke("facets", WORDS_ONLY, "--field", "source", "--field", "topics",
                               "--size", "1", "--json", *data).output)  # fmt: skip
    source = facets["facets"]["source"]
    assert source["values"] == [{"value": "Reuters", "count": 3}]
    assert source["values"][0]["count"] + source["other"] + source["missing"] == facets["total"]
    table = invoke("facets", "--field", "source", *data)  # no query: every article
    assert "(missing)" in table.output and "16 matching articles" in table.output


def test_list_pages_by_cursor(data: list[str]):
    first = invoke("list", "--source", "Reuters", "--limit", "3", *data)
    assert first.exit_code == 0, first.output
    assert "3 of 5 articles, newest first" in first.output
    cursor = first.output.split("--after ")[1].split()[0]
    second = json.loads(invoke("list", "--source", "Reuters", "--limit", "3", "--after", cursor,
                               "--json", *data).output)  # fmt: skip
    assert [a["id"] for a in second["results"]] == ["w1", "o1"] and second["next"] is None


def test_similar_command(data: list[str]):
    found = json.loads(invoke("similar", "bridge", "--json", *data).output)
    ids = [h["article"]["id"] for h in found["results"]]
    assert ids[0] == "bridge-other" and not {"bridge", "bridge-near"} & set(ids)
    text = invoke("similar", "--text", "stone bridge over the river Alder", "--limit", "1", *data)
    assert text.exit_code == 0 and "1 of " in text.output
    missing = invoke("similar", "nope", *data)
    assert missing.exit_code == 2 and "no article with id 'nope'" in missing.output


def test_export_and_search_all(data: list[str], tmp_path: Path):
    out = tmp_path / "wheat.csv"
    done = invoke("export", WORDS_ONLY, "--format", "csv", "--fields", "id,title,date,topics",
                  "--output", str(out), *data)  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "7 articles written to" in done.output
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["id", "title", "date", "topics"] and len(rows) == 8
    every = invoke("export", *data)
    assert len(every.output.splitlines()) == 16
    paged = invoke("search", WORDS_ONLY, "--all", "--format", "csv", *data)
    assert len(list(csv.reader(io.StringIO(paged.output)))) == 8


def test_watch_add_check_list_remove_with_cron_exit_codes(data: list[str], tmp_path: Path):
    assert invoke("watch", "add", "wheat", WORDS_ONLY, "--mode", "keyword", *data).exit_code == 0
    quiet = invoke("watch", "check", *data)
    assert quiet.exit_code == 0 and "wheat: 0 new" in quiet.output
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({"id": "n1", "body": "Wheat exports to Peru."}) + "\n")
    assert invoke("ingest", str(extra), *data).exit_code == 0
    news = invoke("watch", "check", "wheat", "--json", *data)
    assert news.exit_code == 1
    assert json.loads(news.output)["watches"][0]["results"][0]["id"] == "n1"
    assert invoke("watch", "check", *data).exit_code == 0
    listed = json.loads(invoke("watch", "list", "--json", *data).output)
    assert listed["watches"][0]["request"]["q"] == WORDS_ONLY
    assert invoke("watch", "remove", "wheat", *data).exit_code == 0
    gone = invoke("watch", "remove", "wheat", *data)
    assert gone.exit_code == 1 and "no saved search named 'wheat'" in gone.output
    unknown = invoke("watch", "check", "nope", *data)
    assert unknown.exit_code == 2 and "no saved search named 'nope'" in unknown.output
