"""What a browser gets besides the JSON API: the page at `/` and its assets, `/docs` and
`/redoc` with every asset served locally (the machine may have no internet), and CORS, off
unless NEWSARCHIVE_CORS_ORIGINS allows an origin. The page's behaviour is in test_page.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from newsarchive.api import web
from newsarchive.api.app import create_app
from newsarchive.archive import Archive

from conftest import ROOT, SEED


@pytest.fixture
def client(archive: Archive) -> TestClient:
    archive.ingest([SEED])
    with TestClient(create_app(archive)) as test_client:
        yield test_client


def local_assets(html: str) -> list[str]:
    """Every src/href/url of a page, which must all be paths on this server."""
    return re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\s*'([^']+)'""", html)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_load_every_asset_from_this_server(client: TestClient, path: str):
    page = client.get(path)
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "fonts.googleapis" not in page.text
    assets = [a or b for a, b in local_assets(page.text)]
    assert assets, page.text
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        loaded = client.get(asset)
        assert loaded.status_code == 200, asset
        assert len(loaded.content) > 1000, asset
    assert any(a.endswith(".js") for a in assets)
    assert client.get("/openapi.json").json()["paths"]["/search"]


def test_page_and_its_assets_load_without_a_key(archive: Archive, monkeypatch):
    monkeypatch.setenv("NEWSARCHIVE_READ_KEY", "reader")  # keys are read when the app is made
    archive.ingest([SEED])
    with TestClient(create_app(archive)) as client:
        page_loads_without_a_key(client)


def page_loads_without_a_key(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for asset in ["/page/app.js", "/page/style.css"]:
        assert client.get(asset).status_code == 200, asset
        versioned = re.search(rf'"({asset}\?v=[0-9a-f]{{12}})"', page.text).group(1)
        cached = client.get(versioned)
        assert cached.status_code == 200 and cached.content == client.get(asset).content
        assert "immutable" in cached.headers["cache-control"], versioned
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", page.text)
    assert client.get("/search", params={"q": "troops"}).status_code == 401
    assert client.get("/page/nothing.js").status_code == 404
    assert client.get("/openapi.json").status_code == 401  # the API's docs are behind the key
    reader = {"Authorization": "Bearer reader"}
    assert "/" not in client.get("/openapi.json", headers=reader).json()["paths"]


def test_cors_is_off_by_default(client: TestClient):
    answer = client.get("/health", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in answer.headers
    preflight = client.options(
        "/search",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_the_configured_origins(archive: Archive, monkeypatch):
    monkeypatch.setenv("NEWSARCHIVE_CORS_ORIGINS", "https://app.example, https://two.example/")
    with TestClient(create_app(archive)) as client:
        preflight = client.options(
            "/search",
            headers={
                "Origin": "https://two.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://two.example"
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        answer = client.get("/health", headers={"Origin": "https://app.example"})
        assert answer.headers["access-control-allow-origin"] == "https://app.example"
        other = client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_cors_any_origin(archive: Archive, monkeypatch):
    monkeypatch.setenv("NEWSARCHIVE_CORS_ORIGINS", "*")
    with TestClient(create_app(archive)) as client:
        answer = client.get("/health", headers={"Origin": "https://anyone.example"})
        assert answer.headers["access-control-allow-origin"] == "*"


def test_the_page_ships_in_the_package():
    """A non-editable install carries api/page/: every file there matches the package data."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["newsarchive.api"]
    files = sorted(p.relative_to(web.PAGE_DIR.parent) for p in web.PAGE_DIR.iterdir())
    assert {Path("page/index.html"), Path("page/app.js"), Path("page/style.css")} <= set(files)
    for file in files:
        assert any(file.match(pattern) for pattern in patterns), file
