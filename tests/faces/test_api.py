"""The HTTP API, through FastAPI's TestClient and a real `serve` on a loopback port, on the test
embedder; and the promise that every face answers with the same document."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from newsarchive.api import schemas
from newsarchive.api.app import create_app
from newsarchive.archive import Archive, IngestReport, InputError, RemoteArchive, RemoteError
from newsarchive.cli import main as cli

from conftest import NEWS, SEED, SEED_ID, write_jsonl


@pytest.fixture
def client(archive: Archive) -> TestClient:
    archive.ingest([SEED])
    with TestClient(create_app(archive)) as test_client:
        yield test_client


def test_health_stats_and_docs(client: TestClient):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/stats").json()["articles"] == 1
    assert client.get("/docs").status_code == 200
    missing = client.get("/nowhere")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not Found"})
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
    assert set(body) == {"query", "mode", "sort", "total", "pageable", "took_ms", "results",
                         "next", "facets", "timeline"}  # fmt: skip
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
    article = client.get(f"/articles/{SEED_ID}").json()
    assert article["title"].startswith("US, Iraq") and len(article["passages"]) > 5
    missing = client.get("/articles/nope")
    assert (missing.status_code, missing.json()) == (404, {"error": "no article with id 'nope'"})
    assert client.delete(f"/articles/{SEED_ID}").json() == {"deleted": SEED_ID}
    assert client.delete(f"/articles/{SEED_ID}").status_code == 404
    assert client.get("/search", params={"q": "Iraq"}).json()["results"] == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ""}, "q: String should have at least 1 character"),
        ({"q": "x" * 1001}, "q: String should have at most 1000 characters"),
        ({"q": "a", "limit": 0}, "limit: Input should be greater than or equal to 1"),
        ({"q": "a", "limit": 101}, "limit: Input should be less than or equal to 100"),
        ({"q": "a", "offset": -1}, "offset: Input should be greater than or equal to 0"),
        ({"q": "a", "mode": "fuzzy"}, "mode: Input should be 'hybrid', 'semantic' or 'keyword'"),
        ({}, "q: Field required"),
    ],
)
def test_bad_search_parameters_are_422_naming_the_parameter(
    client: TestClient, params: dict, message: str
):
    response = client.get("/search", params=params)
    assert (response.status_code, response.json()) == (422, {"error": message})


def test_bad_bodies_are_4xx(client: TestClient):
    raw = client.post("/search", content=b"{not json", headers={"content-type": "application/json"})
    assert raw.status_code == 400 and raw.json() == {"error": "request body is not valid JSON"}
    misspelt = client.post("/search", json={"q": "a", "limt": 5})
    assert (misspelt.status_code, misspelt.json()) == (
        422,
        {"error": "limt: Extra inputs are not permitted"},
    )
    bad_date = client.get("/search", params={"q": "a", "since": "yesterday-ish"})
    assert bad_date.status_code == 400 and "date" in bad_date.json()["error"]
    bad_where = client.get("/search", params={"q": "a", "where": "nonsense"})
    assert bad_where.status_code == 422
    assert bad_where.json()["error"] == "where: 'nonsense' is not FIELD=VALUE (e.g. topics=grain)"
    empty = client.post("/articles", json={"id": "e", "title": "No body"})
    assert (empty.status_code, empty.json()) == (
        400,
        {"error": "no article stored: article 1: article 'e' has no body text"},
    )
    assert client.post("/articles", json=[]).status_code == 422
    broken = client.post("/articles", content=b"[{", headers={"content-type": "application/json"})
    assert broken.status_code == 400


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
    client: TestClient, archive: Archive, tmp_path: Path, hash_backend
):
    top = client.get("/search", params={"q": "volcanic ash flights"}).json()["results"][0]
    assert top["article"]["id"] == SEED_ID
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
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = client.get("/search", params={"q": "volcanic ash flights"}).json()["results"]
    assert results[0]["article"]["id"] == "ash"
    removed = subprocess.run(
        [sys.executable, "-m", "newsarchive", "remove", "ash", "--data", str(archive.path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert removed.returncode == 0, removed.stderr
    results = client.get("/search", params={"q": "volcanic ash"}).json()["results"]
    assert "ash" not in [r["article"]["id"] for r in results]


# -- the response models are the library's records, complete ---------------------------------
def test_response_models_carry_every_field_the_library_returns(archive: Archive):
    archive.ingest_articles([dict(r) for r in NEWS] + [dict(NEWS[0], id="wheat-copy")])
    assert set(schemas.IngestResult.model_fields) == {
        f.name for f in dataclasses.fields(IngestReport)
    }
    assert set(schemas.Stats.model_fields) == set(archive.stats())
    stored = archive.get("wheat-1")
    fields = {f.alias or name for name, f in schemas.ArticleOut.model_fields.items()}
    assert set(stored) <= fields
    copy = archive.get("wheat-copy")
    assert set(copy) <= fields
    out = schemas.ArticleOut.model_validate(copy).model_dump(by_alias=True)
    assert out["copy"] == "wheat-copy" and out["copies"][0]["kind"] == "exact"


def test_docs_describe_every_field_of_a_real_response(client: TestClient):
    client.post("/articles", json=NEWS + [dict(NEWS[0], id="wheat-copy", source="Grain Daily")])
    spec = client.get("/openapi.json").json()
    components = spec["components"]["schemas"]

    def undocumented(value, schema, path="") -> list[str]:
        if "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[1]]
        for option in schema.get("anyOf", []):
            if option.get("type") != "null" and isinstance(value, (dict, list)):
                return undocumented(value, option, path)
        if isinstance(value, dict) and "properties" in schema:
            missing = [f"{path}.{k}" for k in value if k not in schema["properties"]]
            for key, item in value.items():
                if key in schema["properties"]:
                    missing += undocumented(item, schema["properties"][key], f"{path}.{key}")
            return missing
        if isinstance(value, list) and isinstance(schema.get("items"), dict):
            return [m for item in value for m in undocumented(item, schema["items"], f"{path}[]")]
        return []

    response = client.get("/search", params={"q": "wheat exports"}).json()
    assert response["results"][0]["copies"]  # the fields that used to be dropped are there
    ok = spec["paths"]["/search"]["get"]["responses"]["200"]["content"]["application/json"]
    assert undocumented(response, ok["schema"]) == []
    article = client.get("/articles/wheat-copy").json()
    assert article["copy"] == "wheat-copy" and article["cluster_id"] == "wheat-1"
    ok = spec["paths"]["/articles/{article_id}"]["get"]["responses"]["200"]
    assert undocumented(article, ok["content"]["application/json"]["schema"]) == []


# -- a real server, and the CLI and RemoteArchive through it -----------------------------------
@pytest.fixture
def served(archive: Archive):
    """A real `serve` (uvicorn on a loopback port) over the test archive, for HTTP clients."""
    import uvicorn

    archive.ingest_articles([dict(r) for r in NEWS] + [dict(NEWS[0], id="copy", source="Wire")])
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


def without_timing(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "took_ms"}


def test_search_json_is_the_same_document_locally_and_through_a_server(
    served: str, archive: Archive
):
    local = archive.search("wheat exports to Egypt", limit=3, source="Reuters")
    remote = RemoteArchive(served).search("wheat exports to Egypt", limit=3, source="Reuters")
    assert type(remote) is type(local)
    assert without_timing(remote.to_dict()) == without_timing(local.to_dict())
    assert remote.hits[0].copies and remote.hits[0].also_in == ["Wire"]

    arguments = ["search", "wheat exports", "--where", "topics=grain", "--json"]
    here = CliRunner().invoke(cli.app, [*arguments, "--data", str(archive.path)], env={
        "NEWSARCHIVE_BACKEND": "hash"})  # fmt: skip
    there = CliRunner().invoke(cli.app, arguments, env={"NEWSARCHIVE_URL": served})
    assert here.exit_code == there.exit_code == 0, here.output + there.output
    assert without_timing(json.loads(there.output)) == without_timing(json.loads(here.output))


def test_remote_errors_name_the_server(served: str):
    with pytest.raises(InputError, match=f"{served}: since: unparseable date"):
        RemoteArchive(served).search("oil", since="not a date")
    with socket.socket() as probe:  # a loopback port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(RemoteError, match=f"{closed}: cannot reach newsarchive serve"):
        RemoteArchive(closed, timeout=2).search("oil")
