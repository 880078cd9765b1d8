"""What a hostile client can try against every face: SQL through filter names, what a read key
protects, an empty key, oversized and malformed bodies, text that is not text, and contract
details (405 Allow, blank queries, empty lists) that used to answer wrongly."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from newsarchive.api.app import create_app
from newsarchive.archive import Archive, ArchiveError, InputError
from newsarchive.cli import main as cli

from conftest import NEWS, SEED

# Keys of `where` that close the JSON path and append SQL: the blind oracle of the probe read
# the meta table a character at a time this way.
INJECTIONS = [
    "x\") OR (SELECT substr(value,1,1) FROM meta WHERE key='model_name')='h' --",
    'topics"] OR 1=1 --',
    "a' OR '1'='1",
    "x) UNION SELECT value FROM meta --",
    'category"), (SELECT 1 FROM (WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 '
    "FROM r) SELECT i FROM r)) --",
]
SECRET = "hash-256"  # the meta table's model name: must never appear in an answer


@pytest.fixture
def filled(archive: Archive) -> Archive:
    archive.ingest([SEED])
    archive.ingest_articles(NEWS)
    return archive


@pytest.mark.parametrize("key", INJECTIONS)
def test_sql_through_where_keys_is_refused_by_every_face(filled: Archive, key: str, hash_backend):
    expected = "is not a field name (letters, digits and _, starting with a letter)"
    with TestClient(create_app(filled, warm=False)) as client:
        posted = client.post("/search", json={"q": "grain", "where": {key: ["x"]}})
        assert posted.status_code == 422
        assert expected in posted.json()["error"] and SECRET not in posted.text
        got = client.get("/search", params={"q": "grain", "where": f"{key}=x"})
        assert 400 <= got.status_code < 500 and SECRET not in got.text
        assert list(got.json()) == ["error"]
    with pytest.raises(InputError, match="not a field name|is not FIELD=VALUE"):
        filled.search("grain", where={key: ["x"]})
    with pytest.raises(InputError):
        filled.search("grain", where=[f"{key}=x"])
    result = CliRunner().invoke(
        cli.app, ["search", "grain", "--where", f"{key}=x", "--data", str(filled.path)]
    )
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "is not FIELD=VALUE" in result.output and SECRET not in result.output


def test_read_key_protects_everything_but_a_bare_health(
    filled: Archive, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("NEWSARCHIVE_API_KEY", "writer")
    monkeypatch.setenv("NEWSARCHIVE_READ_KEY", "reader")
    reader = {"Authorization": "Bearer reader"}
    writer = {"Authorization": "Bearer writer"}
    with TestClient(create_app(filled, warm=False)) as client:
        for path in ("/docs", "/openapi.json", "/stats", "/search?q=oil", "/articles/oil-1"):
            assert client.get(path).status_code == 401, path
            assert client.get(path, headers=reader).status_code == 200, path
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/stats", headers=reader).json()["path"] is None
        assert client.get("/stats", headers=writer).json()["path"] == str(filled.path)
        spec = client.get("/openapi.json", headers=writer).json()
        assert spec["paths"]["/search"]["get"]["security"] == [{"HTTPBearer": []}]
    monkeypatch.delenv("NEWSARCHIVE_READ_KEY")
    with TestClient(create_app(filled, warm=False)) as client:
        assert client.get("/openapi.json").status_code == 200  # reads open: so is the schema
        assert client.get("/stats").json()["path"] is None  # ... but not the server's path
        spec = client.get("/openapi.json").json()
        assert "security" not in spec["paths"]["/search"]["get"]
        assert spec["paths"]["/articles"]["post"]["security"] == [{"HTTPBearer": []}]


@pytest.mark.parametrize("name", ["NEWSARCHIVE_API_KEY", "NEWSARCHIVE_READ_KEY"])
def test_an_empty_key_is_refused_at_start_up(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, name: str, hash_backend
):
    monkeypatch.setenv(name, "")
    with pytest.raises(ArchiveError, match=f"{name} is set but empty"):
        create_app(archive)
    monkeypatch.setenv(name, "   ")
    result = CliRunner().invoke(cli.app, ["serve", "--data", str(archive.path)])
    assert result.exit_code == 2
    assert f"error: {name} is set but empty; give it a key, or unset it" in result.output


def test_contract_details(client_and_archive):
    client, _ = client_and_archive
    put = client.put("/articles/oil-1")
    assert put.status_code == 405 and put.headers["allow"] == "DELETE, GET"
    assert client.get("/search", params={"q": "   "}).status_code == 422
    assert client.post("/search", json={"q": " \t"}).status_code == 422
    assert client.get("/search", params={"q": "oil", "where": ""}).status_code == 422
    assert client.post("/articles", json=[]).status_code == 422
    nothing = client.post("/articles", json={"id": "x", "title": "t", "body": "   "})
    assert nothing.status_code == 400 and list(nothing.json()) == ["error"]
    too_many = client.post("/articles", json=[{"body": "x y"}] * 1001)
    assert too_many.status_code == 422


@pytest.fixture
def client_and_archive(filled: Archive):
    with TestClient(create_app(filled, warm=False)) as client:
        yield client, filled


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "s1", "title": "Lone \\ud800 surrogate", "body": "Text here."}',
        b'{"id": "s2", "body": "Fine text.", "tags": ["\\udc00"]}',
        b'[{"id": "s3", "body": "ok text"}, {"id": "s4", "body": "bad \\udfff"}]',
    ],
)
def test_lone_surrogates_are_422(client_and_archive, body: bytes):
    client, archive = client_and_archive
    before = archive.stats()["articles"]
    response = client.post("/articles", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "holds a lone UTF-16 surrogate" in response.json()["error"]
    search = client.post(
        "/search", content=b'{"q": "x\\ud800"}', headers={"content-type": "application/json"}
    )
    assert search.status_code == 422
    assert archive.stats()["articles"] == before


def test_bodies_are_limited_before_parsing_and_deep_json_is_400(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("NEWSARCHIVE_MAX_REQUEST_BYTES", "64K")
    with TestClient(create_app(archive, warm=False)) as client:
        big = client.post(
            "/articles", content=b"[" + b'{"body": "x"},' * 10_000 + b"{}]",
            headers={"content-type": "application/json"},
        )  # fmt: skip
        assert big.status_code == 413
        assert big.json() == {
            "error": "request body larger than 65,536 bytes (NEWSARCHIVE_MAX_REQUEST_BYTES)"
        }

        def chunks():
            for _ in range(100):
                yield b" " * 1024  # no Content-Length: counted as it arrives

        streamed = client.post(
            "/search", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        deep = client.post(
            "/articles", content=b"[" * 30_000 + b"]" * 30_000,
            headers={"content-type": "application/json"},
        )  # fmt: skip
        assert deep.status_code == 400 and list(deep.json()) == ["error"]
    assert archive.stats()["articles"] == 0


def test_no_error_closes_the_connection(filled: Archive):
    """Every 4xx (and a 5xx, should one happen) keeps the keep-alive connection open."""
    import threading

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(filled, warm=False)

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        pass
    connections: set = set()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:

            def send(method: str, path: str, **kw) -> httpx.Response:
                response = client.request(method, path, extensions={"trace": trace}, **kw)
                return response

            def trace(name: str, info: dict) -> None:
                if name == "connection.connect_tcp.complete":
                    connections.add(id(info["return_value"]))

            jsonh = {"content-type": "application/json"}
            statuses = [
                send("GET", "/boom").status_code,
                send("POST", "/articles", content=b"[\xff", headers=jsonh).status_code,
                send("POST", "/search", json={"q": "a", "where": {"a b": ["x"]}}).status_code,
                send("PUT", "/articles/x").status_code,
                send("GET", "/search", params={"q": "oil"}).status_code,
            ]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert statuses == [500, 400, 422, 405, 200]
    assert len(connections) == 1


def test_cli_prints_hostile_text_as_text(tmp_path, hash_backend):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "[/red][bold]x", "title": "\x1b[31mred", "body": ""}) + "\n")
    result = CliRunner().invoke(cli.app, ["ingest", str(bad), "--data", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "article '[/red][bold]x' has no body text" in result.output
    assert "\x1b" not in result.output
