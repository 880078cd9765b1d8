"""The HTTP API, through FastAPI's TestClient over a temporary archive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from newsarchive.api.app import create_app
from newsarchive.archive import Archive

from conftest import NEWS, SEED, write_jsonl


@pytest.fixture
def client(archive: Archive, monkeypatch) -> TestClient:
    monkeypatch.delenv("NEWSARCHIVE_API_KEY", raising=False)
    monkeypatch.delenv("NEWSARCHIVE_READ_KEY", raising=False)
    archive.ingest([SEED])
    with TestClient(create_app(archive)) as test_client:
        yield test_client


def test_health_stats_and_docs(client: TestClient):
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/stats").json()["articles"] == 1
    assert client.get("/docs").status_code == 200
    assert client.get("/nowhere").json() == {"error": "Not Found"}
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/search", "/articles", "/articles/{article_id}", "/stats", "/health"} <= set(paths)


def test_post_articles_then_search_get_and_post(client: TestClient):
    created = client.post("/articles", json=NEWS)
    assert created.status_code == 200, created.text
    assert created.json()["new"] == 4
    again = client.post("/articles", json=NEWS[0]).json()
    assert again["unchanged"] == 1 and again["passages_embedded"] == 0

    found = client.get("/search", params={"q": "wheat exports to Egypt", "limit": 3})
    assert found.status_code == 200
    body = found.json()
    assert body["results"][0]["article"]["id"] == "wheat-1"
    assert set(body) == {"query", "mode", "total", "took_ms", "results"}
    posted = client.post("/search", json={"q": "wheat exports to Egypt", "limit": 3}).json()
    assert [r["passage_id"] for r in posted["results"]] == [
        r["passage_id"] for r in body["results"]
    ]
    filtered = client.get(
        "/search", params={"q": "news", "where": "category=sport", "source": "BBC"}
    ).json()
    assert [r["article"]["id"] for r in filtered["results"]] == ["football-1"]
    keyword = client.post("/search", json={"q": "OPEC", "mode": "keyword"}).json()
    assert [r["article"]["id"] for r in keyword["results"]] == ["oil-1"]


def test_pagination_is_stable(client: TestClient):
    client.post("/articles", json=NEWS)
    params = {"q": "US troops Iraq", "group": "false"}
    whole = client.get("/search", params={**params, "limit": 12}).json()["results"]
    page1 = client.get("/search", params={**params, "limit": 6}).json()["results"]
    page2 = client.get("/search", params={**params, "limit": 6, "offset": 6}).json()["results"]
    assert [r["passage_id"] for r in page1 + page2] == [r["passage_id"] for r in whole]


def test_get_and_delete_articles(client: TestClient):
    article = client.get("/articles/000_4270a9efd2e10240").json()
    assert article["title"].startswith("US, Iraq") and len(article["passages"]) > 5
    assert client.get("/articles/nope").status_code == 404
    assert client.delete("/articles/000_4270a9efd2e10240").json() == {
        "deleted": "000_4270a9efd2e10240"
    }
    assert client.delete("/articles/000_4270a9efd2e10240").status_code == 404
    assert client.get("/search", params={"q": "Iraq"}).json()["results"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": "x" * 1001},
        {"q": "a", "limit": 0},
        {"q": "a", "limit": 101},
        {"q": "a", "offset": -1},
        {"q": "a", "mode": "fuzzy"},
        {},
    ],
)
def test_bad_search_parameters_are_4xx_with_a_message(client: TestClient, params: dict):
    response = client.get("/search", params=params)
    assert 400 <= response.status_code < 500
    assert response.json()["error"]


def test_bad_bodies_are_4xx(client: TestClient):
    raw = client.post("/search", content=b"{not json", headers={"content-type": "application/json"})
    assert raw.status_code == 400 and raw.json() == {"error": "request body is not valid JSON"}
    assert client.post("/search", json={"q": "a", "limt": 5}).status_code == 422
    bad_date = client.get("/search", params={"q": "a", "since": "yesterday-ish"})
    assert bad_date.status_code == 400 and "date" in bad_date.json()["error"]
    bad_where = client.get("/search", params={"q": "a", "where": "nonsense"})
    assert bad_where.status_code == 400
    empty = client.post("/articles", json={"id": "e", "title": "No body"})
    assert empty.status_code == 400 and "has no body text" in empty.json()["errors"][0]
    assert client.post("/articles", json=[]).status_code == 400
    assert (
        client.post(
            "/articles", content=b"[{", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )


def test_write_key_and_read_key(archive: Archive, monkeypatch):
    monkeypatch.setenv("NEWSARCHIVE_API_KEY", "s3cret")
    monkeypatch.setenv("NEWSARCHIVE_READ_KEY", "reader")
    with TestClient(create_app(archive, warm=False)) as client:
        article = {"id": "k1", "body": "Keys guard the write endpoints."}
        assert client.post("/articles", json=article).status_code == 401
        wrong = client.post("/articles", json=article, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"].startswith("missing or wrong")
        ok = client.post("/articles", json=article, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert client.get("/search", params={"q": "keys"}).status_code == 401
        reader = {"Authorization": "Bearer reader"}
        assert client.get("/search", params={"q": "keys"}, headers=reader).status_code == 200
        assert client.delete("/articles/k1", headers=reader).status_code == 401
        assert client.get("/health").status_code == 200


def test_article_ingested_by_another_process_becomes_searchable(
    client: TestClient, archive: Archive, tmp_path: Path
):
    assert (
        client.get("/search", params={"q": "volcanic ash flights"}).json()["results"][0]["article"][
            "id"
        ]
        == "000_4270a9efd2e10240"
    )
    records = [{"id": "ash", "body": "Volcanic ash from Iceland grounded flights across Europe."}]
    path = write_jsonl(tmp_path / "ash.jsonl", records)
    command = [
        sys.executable,
        "-m",
        "newsarchive",
        "ingest",
        str(path),
        "--data",
        str(archive.path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = client.get("/search", params={"q": "volcanic ash flights"}).json()["results"]
    assert results[0]["article"]["id"] == "ash"
    removed = subprocess.run(
        [sys.executable, "-m", "newsarchive", "remove", "ash", "--data", str(archive.path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert removed.returncode == 0, removed.stderr
    ids = [
        r["article"]["id"]
        for r in client.get("/search", params={"q": "volcanic ash"}).json()["results"]
    ]
    assert "ash" not in ids


@pytest.fixture
def served(archive: Archive, monkeypatch):
    """A real `serve` (uvicorn on a loopback port) over the test archive, for HTTP clients."""
    import socket
    import threading
    import time

    import uvicorn

    monkeypatch.delenv("NEWSARCHIVE_API_KEY", raising=False)
    monkeypatch.delenv("NEWSARCHIVE_READ_KEY", raising=False)
    archive.ingest_articles([dict(r) for r in NEWS])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(archive), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_cli_search_uses_a_running_server_when_configured(served: str, archive: Archive):
    from typer.testing import CliRunner

    from newsarchive.archive.remote import RemoteArchive
    from newsarchive.cli import main as cli

    local = archive.search("wheat exports to Egypt", limit=3, source="Reuters").to_dict()
    remote = RemoteArchive(served).search("wheat exports to Egypt", limit=3, source="Reuters")
    assert [r["passage_id"] for r in remote.to_dict()["results"]] == [
        r["passage_id"] for r in local["results"]
    ]
    result = CliRunner().invoke(
        cli.app,
        ["search", "news", "--where", "category=sport", "--json"],
        env={"NEWSARCHIVE_URL": served},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert [r["article"]["id"] for r in json.loads(result.output)["results"]] == ["football-1"]


def test_remote_errors_name_the_server(served: str):
    import socket

    from newsarchive.archive.models import InputError
    from newsarchive.archive.remote import RemoteArchive, RemoteError

    with pytest.raises(InputError, match=f"{served}: unparseable date"):
        RemoteArchive(served).search("oil", since="not a date")
    with socket.socket() as probe:  # a loopback port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(RemoteError, match=f"{closed}: cannot reach newsarchive serve"):
        RemoteArchive(closed, timeout=2).search("oil")
