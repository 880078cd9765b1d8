"""Hybrid's fusion through both faces: `?fusion=` / `"fusion"` over HTTP, `--fusion` in the
CLI, and a bad value refused as any bad field is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from newsarchive.api.app import create_app
from newsarchive.archive import Archive
from newsarchive.cli import main as cli

from conftest import NEWS, write_jsonl


@pytest.fixture
def client(archive: Archive, tmp_path: Path) -> TestClient:
    archive.ingest([write_jsonl(tmp_path / "news.jsonl", NEWS)])
    with TestClient(create_app(archive)) as test_client:
        yield test_client


@pytest.mark.parametrize("fusion", ["score", "rrf", "rrf60"])
def test_every_fusion_answers_get_and_post(client: TestClient, fusion: str):
    query = {"q": "wheat exports to Egypt", "limit": 3, "fusion": fusion}
    found = client.get("/search", params=query)
    assert found.status_code == 200, found.text
    assert found.json()["results"][0]["article"]["id"] == "wheat-1"
    posted = client.post("/search", json=query)
    assert posted.status_code == 200
    assert posted.json()["results"] == found.json()["results"]


def test_an_unknown_fusion_is_a_422_naming_it(client: TestClient):
    for response in (
        client.get("/search", params={"q": "wheat", "fusion": "borda"}),
        client.post("/search", json={"q": "wheat", "fusion": "borda"}),
    ):
        assert response.status_code == 422
        assert "fusion" in response.text


def test_the_cli_takes_fusion(tmp_path: Path, hash_backend):
    runner = CliRunner()
    data = ["--data", str(tmp_path / "data")]
    news = str(write_jsonl(tmp_path / "n.jsonl", NEWS))
    assert runner.invoke(cli.app, ["ingest", news, *data]).exit_code == 0
    result = runner.invoke(cli.app, ["search", "wheat Egypt", "--fusion", "rrf60", "--json", *data])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["results"][0]["article"]["id"] == "wheat-1"
    bad = runner.invoke(cli.app, ["search", "wheat", "--fusion", "borda", *data])
    assert bad.exit_code == 2 and "fusion" in bad.output
