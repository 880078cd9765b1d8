"""The exploring endpoints over HTTP (TestClient and a real server for RemoteArchive), and the
promise that the CLI's `--json` and the API answer with the same document."""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from newsarchive.api.app import create_app
from newsarchive.archive import Archive, RemoteArchive
from newsarchive.cli import main as cli

from explore_corpus import WORDS_ONLY, corpus_file


@pytest.fixture
def explored(archive: Archive, tmp_path: Path) -> Archive:
    archive.ingest([corpus_file(tmp_path)])
    return archive


@pytest.fixture
def client(explored: Archive) -> TestClient:
    with TestClient(create_app(explored)) as test_client:
        yield test_client


def without_timing(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "took_ms"}


def test_search_with_timeline_facets_sort_and_cursor(client: TestClient):
    params = {"q": WORDS_ONLY, "timeline": "month", "facets": ["source", "topics"], "limit": 2}
    body = client.get("/search", params=params).json()
    assert (body["total"], body["pageable"], body["sort"]) == (7, 15, "relevance")
    assert [b["count"] for b in body["timeline"]["buckets"]] == [3, 2, 0, 1]
    source = body["facets"]["source"]
    assert sum(v["count"] for v in source["values"]) + source["other"] + source["missing"] == 7
    posted = client.post("/search", json=params).json()
    assert without_timing(posted) == without_timing(body)
    pages, cursor = [], None
    while True:
        page = client.get("/search", params={"q": WORDS_ONLY, "sort": "oldest", "limit": 3,
                                             **({"after": cursor} if cursor else {})}).json()  # fmt: skip
        pages += [h["article"]["id"] for h in page["results"]]
        if not (cursor := page["next"]):
            break
    assert pages == ["w1", "w2", "w3", "w4", "w5", "w6", "w7"]
    bad = client.get("/search", params={"q": WORDS_ONLY, "sort": "oldest", "after": "xyz"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("after: not a cursor")


def test_timeline_and_facets_endpoints(client: TestClient):
    timeline = client.get("/timeline", params={"q": WORDS_ONLY, "interval": "month"}).json()
    assert timeline["total"] == 7 and timeline["timeline"]["undated"] == 1
    assert timeline["timeline"]["buckets"][0] == {"start": "1987-03-01", "count": 3, "all": 6,
                                                  "share": 0.5}  # fmt: skip
    every = client.get("/timeline", params={"interval": "year"}).json()
    assert every["total"] == 16
    facets = client.get("/facets", params={"q": WORDS_ONLY, "fields": ["topics"]}).json()
    assert facets["facets"]["topics"]["missing"] == 1
    assert client.get("/facets", params={"fields": "date"}).status_code == 400
    unknown = client.get("/timeline", params={"q": "x", "bucket": "month"})
    assert (unknown.status_code, unknown.json()) == (
        422, {"error": "bucket: Extra inputs are not permitted"}
    )  # fmt: skip
    interval = client.get("/timeline", params={"interval": "hour"})
    assert interval.status_code == 422 and interval.json()["error"].startswith("interval:")


def test_browse_articles(client: TestClient):
    first = client.get("/articles", params={"source": "Reuters", "limit": 3}).json()
    assert first["total"] == 5 and set(first["results"][0]) == {
        "id", "title", "author", "source", "date", "url", "passage_count", "also_in"
    }  # fmt: skip
    second = client.get("/articles", params={"source": "Reuters", "after": first["next"]}).json()
    assert [a["id"] for a in first["results"] + second["results"]] == [
        "o5", "w5", "w2", "w1", "o1"
    ]  # fmt: skip
    march = client.get("/articles", params={"since": "1987-03-01", "until": "1987-03-31"})
    assert march.json()["total"] == 6
    assert client.get("/articles", params={"limit": 0}).status_code == 422
    # POST /articles still ingests; GET /articles/{id} still shows one article.
    assert client.get("/articles/w1").json()["id"] == "w1"


def test_similar_endpoints(client: TestClient):
    found = client.get("/articles/bridge/similar", params={"limit": 20}).json()
    ids = [h["article"]["id"] for h in found["results"]]
    assert ids[0] == "bridge-other" and not {"bridge", "bridge-copy", "bridge-near"} & set(ids)
    assert client.get("/articles/bridge-copy/similar").json()["results"][0]["article"]["id"] == (
        "bridge-other"
    )
    missing = client.get("/articles/nope/similar")
    assert (missing.status_code, missing.json()) == (404, {"error": "no article with id 'nope'"})
    text = client.post("/similar", json={"text": "Alder stone bridge", "source": "Post"}).json()
    assert [h["article"]["id"] for h in text["results"]] == ["bridge-other"]
    no_text = client.post("/similar", json={"limit": 3})
    assert (no_text.status_code, no_text.json()) == (422, {"error": "text: Field required"})


def test_export_streams_every_matching_article(client: TestClient):
    response = client.get("/export", params={"q": WORDS_ONLY, "format": "csv",
                                             "fields": "id,date,source"})  # fmt: skip
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="newsarchive-export.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["id", "date", "source"] and len(rows) - 1 == 7
    lines = client.get("/export", params={"sort": "oldest"}).text.splitlines()
    assert len(lines) == 16 and json.loads(lines[0])["id"] == "o1"  # 2 March, then by id
    assert client.get("/export", params={"format": "xml"}).status_code == 422
    bad = client.get("/export", params={"fields": "id,a b"})
    assert bad.status_code == 400 and "fields: 'a b' is not a field name" in bad.json()["error"]


def test_watches_endpoints_and_keys(explored: Archive, monkeypatch):
    monkeypatch.setenv("NEWSARCHIVE_API_KEY", "s3cret")
    key = {"Authorization": "Bearer s3cret"}
    with TestClient(create_app(explored, warm=False)) as client:
        body = {"q": WORDS_ONLY, "mode": "keyword"}
        assert client.put("/watches/wheat", json=body).status_code == 401
        saved = client.put("/watches/wheat", json=body, headers=key)
        assert saved.status_code == 200 and saved.json()["request"]["q"] == WORDS_ONLY
        assert [w["name"] for w in client.get("/watches").json()["watches"]] == ["wheat"]
        assert client.post("/watches/wheat/check", headers=key).json()["new"] == 0
        client.post("/articles", json={"id": "n1", "body": "Wheat exports to Peru."}, headers=key)
        checked = client.post("/watches/wheat/check", headers=key).json()
        assert checked["new"] == 1 and checked["watches"][0]["results"][0]["id"] == "n1"
        assert client.post("/watches/nope/check", headers=key).status_code == 404
        bad = client.put("/watches/bad name", json=body, headers=key)
        assert bad.status_code == 400 and "is not a saved-search name" in bad.json()["error"]
        assert client.delete("/watches/wheat", headers=key).json() == {"deleted": "wheat"}
        assert client.delete("/watches/wheat", headers=key).status_code == 404


def test_cli_json_and_api_are_the_same_document(explored: Archive, client: TestClient):
    env = {"NEWSARCHIVE_BACKEND": "hash"}
    data = ["--data", str(explored.path)]
    pairs = [
        (["timeline", WORDS_ONLY, "--interval", "week"],
         ("/timeline", {"q": WORDS_ONLY, "interval": "week"})),
        (["facets", WORDS_ONLY, "--field", "source", "--field", "topics"],
         ("/facets", {"q": WORDS_ONLY, "fields": ["source", "topics"]})),
        (["list", "--source", "AP"], ("/articles", {"source": "AP"})),
        (["similar", "w1", "--limit", "3"], ("/articles/w1/similar", {"limit": 3})),
        (["search", WORDS_ONLY, "--sort", "newest", "--facet", "source"],
         ("/search", {"q": WORDS_ONLY, "sort": "newest", "facets": "source"})),
    ]  # fmt: skip
    for arguments, (path, params) in pairs:
        here = CliRunner().invoke(cli.app, [*arguments, "--json", *data], env=env)
        assert here.exit_code == 0, here.output
        there = client.get(path, params=params).json()
        assert without_timing(json.loads(here.output)) == without_timing(there), path


# -- RemoteArchive through a real server ----------------------------------------------------------
@pytest.fixture
def served(explored: Archive):
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(explored), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_remote_archive_explores_like_the_local_one(served: str, explored: Archive):
    remote = RemoteArchive(served)
    calls = [
        lambda a: a.search(WORDS_ONLY, sort="oldest", timeline="month", facets=["source"]),
        lambda a: a.timeline(WORDS_ONLY, "month", source="Reuters"),
        lambda a: a.facets(None, ["source", "topics"], 3, where=["topics=grain"]),
        lambda a: a.browse(since="1987-04-01", limit=2),
        lambda a: a.browse(source="AP", facets=["topics"], timeline="month"),
        lambda a: a.similar("bridge", limit=3),
        lambda a: a.similar(text="oil prices", limit=2),
    ]
    for call in calls:
        local, there = call(explored), call(remote)
        assert type(there) is type(local)
        assert without_timing(there.model_dump()) == without_timing(local.model_dump())
    exported = "".join(remote.export(WORDS_ONLY, format="csv", fields="id,date"))
    assert exported == "".join(explored.export(WORDS_ONLY, format="csv", fields="id,date"))
    listed = CliRunner().invoke(cli.app, ["list", "--json"], env={"NEWSARCHIVE_URL": served})
    assert json.loads(listed.output)["total"] == 16
