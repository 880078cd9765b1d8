"""Fetching is guarded: a feed cannot make the archive store a loopback or private-network
page (after DNS, on the connected address, on every redirect) unless the user opts in, only
http(s) is fetched, and a response is read up to a size limit."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import httpx
import pytest
from test_feeds import FeedServer, rss
from typer.testing import CliRunner

from newsarchive.archive import Archive, InputError
from newsarchive.archive.sources.http import address_kind, check_url, get
from newsarchive.cli import main as cli

from conftest import FIXTURES


@pytest.fixture
def local() -> Iterator[FeedServer]:
    """A server on 127.0.0.1 with an article page, as an intranet host would be."""
    running = FeedServer()
    running.pages["/secret.html"] = ((FIXTURES / "article.html").read_bytes(), "text/html")
    yield running
    running.close()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-public"),
        ("240.0.0.1", "private"),  # reserved, which Python counts as private
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_kinds(address: str, kind: str | None):
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "only http and https URLs are fetched"),
        ("ftp://example.com/feed", "only http and https URLs are fetched"),
        ("http://127.0.0.1:9/x", "refused, 127.0.0.1 is a loopback address (127.0.0.1)"),
        ("http://localhost/x", "refused, localhost is a loopback address"),
        ("http://[::1]/x", "is a loopback address (::1)"),
        ("http://10.0.0.1/x", "refused, 10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data", "is a link-local address"),
    ],
)
def test_targets_refused_by_default(url: str, message: str):
    with pytest.raises(InputError, match=re.escape(message)):
        check_url(url, allow_private=False)


def test_feed_entries_linking_to_private_pages_are_not_fetched(archive: Archive, local, tmp_path):
    link = f"{local.url}/secret.html"
    feed = tmp_path / "public.rss"
    feed.write_bytes(rss("Public Feed", [{"title": "Teaser", "link": link, "body": "Short."}]))
    report = archive.ingest([feed], fetch=True)
    assert report.new == 1  # kept with the feed's own text
    assert report.errors == [
        f"{feed} entry 1: {link}: refused, 127.0.0.1 is a loopback address (127.0.0.1); "
        "pass --allow-private (or set NEWSARCHIVE_ALLOW_PRIVATE=1) to fetch it; kept the "
        "feed's text instead"
    ]
    assert local.requests == []  # not even asked
    stored = archive.get(link)
    assert [p["text"] for p in stored["passages"]] == ["Short."]
    allowed = archive.ingest([feed], fetch=True, allow_private=True)
    assert (allowed.changed, allowed.errors) == (1, [])
    assert "barrier" in " ".join(p["text"] for p in archive.get(link)["passages"]).lower()


def test_loopback_url_from_the_cli_needs_allow_private(local, tmp_path, hash_backend):
    data = ["--data", str(tmp_path / "data")]
    url = f"{local.url}/secret.html"
    refused = CliRunner().invoke(cli.app, ["ingest", url, *data])
    assert refused.exit_code == 1
    assert "refused, 127.0.0.1 is a loopback address" in refused.output
    allowed = CliRunner().invoke(cli.app, ["ingest", url, "--allow-private", *data])
    assert allowed.exit_code == 0, allowed.output
    assert "1 articles: 1 new" in allowed.output


def test_every_redirect_is_checked_and_bodies_are_capped(monkeypatch: pytest.MonkeyPatch):
    """A public address (a literal, so no DNS is needed) that redirects inward."""
    asked = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if request.url.path == "/inward":
            return httpx.Response(302, headers={"location": "http://127.0.0.1:8080/admin"})
        if request.url.path == "/scheme":
            return httpx.Response(301, headers={"location": "file:///etc/passwd"})
        if request.url.path == "/loop":
            return httpx.Response(302, headers={"location": "/loop"})
        return httpx.Response(200, content=b"x" * 3000)

    client = httpx.Client(transport=httpx.MockTransport(answer), follow_redirects=False)
    public = "http://93.184.216.34"
    with pytest.raises(InputError, match="refused, 127.0.0.1 is a loopback address"):
        get(client, f"{public}/inward")
    assert asked == [f"{public}/inward"]  # the inward target was never requested
    with pytest.raises(InputError, match="only http and https URLs are fetched"):
        get(client, f"{public}/scheme")
    with pytest.raises(InputError, match="more than 10 redirects"):
        get(client, f"{public}/loop")
    assert get(client, f"{public}/page").content == b"x" * 3000
    monkeypatch.setenv("NEWSARCHIVE_MAX_HTTP_BYTES", "1K")
    with pytest.raises(InputError, match="the response is larger than 1,024 bytes"):
        get(client, f"{public}/page")


def test_endless_response_is_cut_at_the_limit(monkeypatch: pytest.MonkeyPatch):
    """A server that never stops sending (the probe's 1 GB answer) costs at most the limit."""
    monkeypatch.setenv("NEWSARCHIVE_MAX_HTTP_BYTES", "2M")

    def endless() -> Iterator[bytes]:
        while True:
            yield b"<p>" + b"a" * 65536 + b"</p>"

    client = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, content=endless()))
    )
    with pytest.raises(InputError, match="larger than 2,097,152 bytes"):
        get(client, "http://93.184.216.34/huge")
