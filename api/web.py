"""What a browser gets from `newsarchive serve`: the search page at `/`, the API docs at
`/docs` and `/redoc`, and CORS for apps on other origins.

The page (api/page/) is static HTML, CSS and JavaScript over the same JSON API that apps call,
so it has no build step and everything it shows an app can get too. Swagger UI and ReDoc are
served from the assets the `fastapi-offline` package ships instead of FastAPI's default CDN
links, since the archive often runs on a machine without internet. CORS stays off unless
NEWSARCHIVE_CORS_ORIGINS names the origins allowed to call the API.
"""

from __future__ import annotations

import hashlib
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from ..archive import config

PAGE_DIR = Path(__file__).resolve().parent / "page"
DOCS_ASSETS = "/docs-assets"
API_PLACEHOLDER = "{}<!--api-outline-->"
# The page renders archive text with textContent only; the policy is a second line against
# injected markup: scripts, styles and requests from this origin alone, no framing.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def install(app: FastAPI, *, docs_dependencies: list[Any] | None = None) -> None:
    """Add the page, the offline docs and (when configured) CORS to `app`. The app must be
    created with `docs_url=None, redoc_url=None` so these docs replace FastAPI's;
    `docs_dependencies` guard the docs (the read key)."""
    install_page(app)
    install_docs(app, docs_dependencies or [])
    install_cors(app)


def install_page(app: FastAPI) -> None:
    """`/` is the search page; its script and style are under `/page/`. The page loads without
    a key, so that it can ask for one when NEWSARCHIVE_READ_KEY is set."""
    app.mount("/page", PageAssets(directory=PAGE_DIR), name="page")
    rendered: list[str] = []

    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        if not rendered:  # on the first request, when every router has been included
            html = (PAGE_DIR / "index.html").read_text(encoding="utf-8")
            html = html.replace(API_PLACEHOLDER, api_outline(app), 1)
            for asset in ("app.js", "style.css"):  # versioned links, cached by the browser
                html = html.replace(f"/page/{asset}", f"/page/{asset}?v={asset_version()}")
            rendered.append(html)
        return HTMLResponse(
            rendered[0],
            headers={
                "Content-Security-Policy": PAGE_POLICY,
                "Cache-Control": "no-cache",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
            },
        )


class PageAssets(StaticFiles):
    """The page's script and style. The page links them with a version (`?v=`, a hash of their
    contents), so a browser may keep a versioned copy for good and a new release is fetched
    anew; unversioned requests are revalidated as usual."""

    async def get_response(self, path: str, scope: Any) -> Response:
        response = await super().get_response(path, scope)
        if scope.get("query_string") and response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def asset_version() -> str:
    """A short hash of the page's files: it changes whenever any of them does."""
    digest = hashlib.sha256()
    for file in sorted(PAGE_DIR.iterdir()):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:12]


def api_outline(app: FastAPI) -> str:
    """What the page needs to know of this server's OpenAPI schema (the GET /search parameters
    and the paths with their methods), as JSON safe inside a <script> element. Embedded in the
    page, it saves the browser a request for the whole schema before the first search."""
    schema = app.openapi()
    search = schema.get("paths", {}).get("/search", {}).get("get", {})
    outline = {
        "search_params": [p["name"] for p in search.get("parameters", [])],
        "paths": {path: sorted(ops) for path, ops in schema.get("paths", {}).items()},
    }
    return json.dumps(outline, separators=(",", ":")).replace("<", "\\u003c")


def install_docs(app: FastAPI, dependencies: list[Any]) -> None:
    """Swagger UI at `/docs` and ReDoc at `/redoc`, every asset served from this process."""
    assets = Path(str(files("fastapi_offline") / "static"))
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False, dependencies=dependencies)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=redirect_url,
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False, dependencies=dependencies)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


def install_cors(app: FastAPI) -> None:
    """Allow the origins in NEWSARCHIVE_CORS_ORIGINS (`*` for any) to call the API with a
    bearer key; nothing is added when it is unset. Keys travel in a header, not cookies, so
    credentials mode stays off."""
    origins = config.configured_cors_origins()
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Content-Disposition"],
        max_age=600,
    )
