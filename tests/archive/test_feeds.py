"""Real news inputs: HTML pages, RSS/Atom feeds (files and URLs), gzipped JSONL, and following
feeds (conditional polls, failures, stopping, the CLI)."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsarchive.archive import Archive, InputError
from newsarchive.archive.ingest.follow import parse_interval
from newsarchive.archive.store import FeedPolls
from newsarchive.cli import main as cli

from conftest import FIXTURES

runner = CliRunner()


class FeedServer:
    """A tiny HTTP server on 127.0.0.1: path -> (body, content type), with ETag support."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[bytes, str]] = {}
        self.delay = 0.0  # seconds before answering, to test timeouts
        self.requests: list[tuple[str, str | None]] = []  # (path, If-None-Match)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append((self.path, self.headers.get("If-None-Match")))
                time.sleep(server.delay)
                if self.path not in server.pages:
                    self.send_error(404)
                    return
                body, content_type = server.pages[self.path]
                etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that timed out and hung up is what some tests want

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    """The test server is on loopback, which fetching refuses unless allowed."""
    monkeypatch.setenv("NEWSARCHIVE_ALLOW_PRIVATE", "1")
    running = FeedServer()
    yield running
    running.close()


def closed_port_url() -> str:
    """A URL on which nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed.xml"


def rss(title: str, items: list[dict[str, str]]) -> bytes:
    entries = "".join(
        "<item>"
        f"<title>{i['title']}</title><link>{i['link']}</link>"
        + (f"<guid>{i['guid']}</guid>" if i.get("guid") else "")
        + f"<pubDate>Tue, 05 Mar 2024 07:15:00 +0000</pubDate>"
        f"<description>{i['body']}</description></item>"
        for i in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://example.org/</link>{entries}</channel></rss>"
    ).encode()


# -- HTML pages ---------------------------------------------------------------------------
def test_html_page_gives_article_text_and_metadata_without_page_furniture(archive: Archive):
    report = archive.ingest([FIXTURES / "article.html"])
    assert (report.new, report.errors) == (1, [])
    article = archive.get("https://www.coastal-courier.example/news/flood-barrier")
    assert article is not None  # canonical URL, normalised, tracking parameters removed
    assert article["title"] == "Harbour town opens flood barrier"
    assert article["author"] == "Mara Ellison"
    assert article["source"] == "The Coastal Courier"
    assert article["date"] == "2024-03-14T08:30:00Z"
    assert article["date_raw"] == "2024-03-14T09:30:00+0100"
    text = " ".join(p["text"] for p in article["passages"])
    assert "tidal flood barrier" in text and "fishing boats" in text
    for furniture in ("cookies", "Subscribe", "garden furniture", "Gerald", "rights reserved"):
        assert furniture not in text
    assert archive.search("cookies garden furniture", mode="keyword").hits == []


def test_page_without_article_text_is_reported_and_skipped(archive: Archive, tmp_path: Path):
    folder = tmp_path / "pages"
    folder.mkdir()
    for name in ("article.html", "no_article.html"):
        (folder / name).write_bytes((FIXTURES / name).read_bytes())
    report = archive.ingest([folder])
    assert report.new == 1
    assert report.errors == [f"{folder / 'no_article.html'}: no article text found in the page"]


# -- feeds ----------------------------------------------------------------------------------
def test_rss_and_atom_entries_become_articles_with_stable_ids(archive: Archive):
    report = archive.ingest([FIXTURES / "wire.rss", FIXTURES / "wire.atom"])
    assert report.errors == []
    assert report.new == 3 and report.exact_copies == 1  # the ferry story is in both feeds
    ferries = archive.get("gazette-ferries-2024")  # the entry's guid
    assert ferries["source"] == "gazette.example"  # the outlet: its domain, not the feed title
    assert ferries["metadata"]["feed_title"] == "Northern Gazette"
    assert ferries["author"] == "Ian Rowe"
    assert ferries["date"] == "2024-03-05T07:15:00Z"
    assert ferries["url"] == "https://gazette.example/ferries"
    assert ferries["metadata"]["tags"] == ["transport"]
    # no guid: the normalised link is the identity
    library = archive.get("https://gazette.example/library")
    assert library["title"] == "Library extends opening hours"
    lighthouse = archive.get("tag:herald.example,2024:lighthouse")
    assert lighthouse["source"] == "herald.example" and lighthouse["date"] == "2024-03-02T08:00:00Z"
    again = archive.ingest([FIXTURES / "wire.atom", FIXTURES / "wire.rss"])
    assert (again.new, again.changed, again.unchanged, again.exact_copies) == (0, 0, 4, 0)
    assert again.passages_embedded == 0


# -- other formats and metadata -------------------------------------------------------------
def test_gzipped_jsonl_with_source_and_normalised_urls(archive: Archive, tmp_path: Path):
    records = [
        {"title": "Tram line opens", "body": "The first trams ran on the new east line today.",
         "url": "HTTPS://News.Example.com/trams?utm_source=x&utm_medium=y", "date": "2024-03-01"},
        {"title": "Tram line opens", "body": "The first trams ran on the new east line today.",
         "url": "https://news.example.com/trams?fbclid=abc", "date": "2024-03-01"},
    ]  # fmt: skip
    path = tmp_path / "news.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    report = archive.ingest([path], source="Metro Wire")
    assert report.articles == 2 and report.new == 1 and report.errors == []
    article = archive.get("https://news.example.com/trams")
    assert article["source"] == "Metro Wire"
    assert article["date"] == "2024-03-01"  # a day stays a day
    assert archive.stats()["articles"] == 1


def test_parse_interval():
    assert parse_interval("15m") == 900
    assert parse_interval("1h30m") == 5400
    assert parse_interval("45") == 45
    with pytest.raises(InputError, match="is not like"):
        parse_interval("soon")


# -- URLs and following ---------------------------------------------------------------------
def test_ingest_feed_and_page_urls_with_fetch(archive: Archive, server: FeedServer):
    page = (FIXTURES / "article.html").read_bytes()
    server.pages["/story.html"] = (page, "text/html; charset=utf-8")
    feed = rss(
        "Coastal Feed",
        [{"title": "Barrier lowered", "link": f"{server.url}/story.html", "body": "Short teaser."}],
    )
    server.pages["/feed.xml"] = (feed, "application/rss+xml")
    report = archive.ingest([f"{server.url}/feed.xml"], fetch=True)
    assert (report.new, report.errors) == (1, [])
    article = archive.get(f"{server.url}/story.html")
    assert article["title"] == "Barrier lowered"
    assert article["source"] == "The Coastal Courier"  # named by the page, not the feed
    assert "steel gates" in " ".join(p["text"] for p in article["passages"])
    assert article["author"] == "Mara Ellison"  # from the page: the feed had no author

    report = archive.ingest([f"{server.url}/story.html"])  # a page URL: one article
    assert report.new == 0 and report.exact_copies == 1  # same text as the fetched entry
    report = archive.ingest([closed_port_url()])
    assert len(report.errors) == 1 and "cannot fetch (ConnectError" in report.errors[0]


def test_follow_polls_conditionally_and_survives_failures(
    tmp_path: Path, hash_embedder, server: FeedServer
):
    items = [{"title": "Wind farm approved", "link": "https://example.org/wind",
              "body": "Planners approved twelve offshore turbines north of the bay."}]  # fmt: skip
    server.pages["/feed.xml"] = (rss("Bay News", items), "application/rss+xml")
    feed, down = f"{server.url}/feed.xml", closed_port_url()
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        follower = archive.follower([feed, down], on_poll=lambda poll: None)
        polls = follower.run(60, once=True)
        follower.close()
        assert [p.status for p in polls] == ["updated", "failed"]
        assert polls[0].report.new == 1
        assert polls[0].line() == f"{feed}: 1 entries: 1 new, 0 changed, 0 unchanged " + (
            f"({polls[0].seconds:.1f} s)"
        )
        assert "failed, will retry at the next poll: cannot fetch (ConnectError" in polls[1].line()
        assert archive.stats()["articles"] == 1

    # A new process: the ETag remembered in the archive makes the unchanged feed a 304.
    with Archive(data, embedder=hash_embedder) as archive:
        follower = archive.follower([feed], on_poll=lambda poll: None)
        assert [p.status for p in follower.poll_all()] == ["not modified"]
        assert server.requests[-1][1] is not None  # If-None-Match was sent
        items.append({"title": "Ferry delayed", "link": "https://example.org/ferry",
                      "body": "The morning ferry was delayed by fog in the channel."})  # fmt: skip
        server.pages["/feed.xml"] = (rss("Bay News", items), "application/rss+xml")
        (poll,) = follower.poll_all()
        follower.close()
        assert (poll.status, poll.report.new, poll.report.unchanged) == ("updated", 1, 1)
        assert archive.stats()["articles"] == 2
        state = FeedPolls(archive.store).get(feed)
        assert state["etag"] and state["last_status"] == "updated" and state["polls"] == 3


def test_follow_loop_is_stoppable(archive: Archive, tmp_path: Path):
    feed = tmp_path / "local.rss"
    feed.write_bytes((FIXTURES / "wire.rss").read_bytes())
    polls = []
    follower = archive.follower([str(feed)], on_poll=polls.append)
    thread = threading.Thread(target=follower.run, args=(0.05,))
    thread.start()
    for _ in range(200):
        if len(polls) >= 3:
            break
        thread.join(0.05)
    follower.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert polls[0].status == "updated" and polls[1].status == "not modified"


def test_follow_cli_once(tmp_path: Path, hash_backend, server: FeedServer):
    data = ["--data", str(tmp_path / "data")]
    server.pages["/feed.xml"] = ((FIXTURES / "wire.atom").read_bytes(), "application/atom+xml")
    feed = f"{server.url}/feed.xml"
    result = runner.invoke(cli.app, ["follow", feed, "--once", "--every", "5m", *data])
    assert result.exit_code == 0, result.output
    assert f"{feed}: 2 entries: 2 new, 0 changed, 0 unchanged" in result.output
    result = runner.invoke(cli.app, ["follow", feed, closed_port_url(), "--once", *data])
    assert result.exit_code == 1
    assert f"{feed}: not modified" in result.output
    assert "failed, will retry at the next poll" in result.output
    result = runner.invoke(cli.app, ["follow", feed, "--every", "soon", *data])
    assert result.exit_code == 2
    assert "interval 'soon' is not like 30s, 15m, 1h or 1h30m" in result.output


def test_follow_times_out_on_a_slow_server(archive: Archive, server: FeedServer):
    server.pages["/feed.xml"] = ((FIXTURES / "wire.rss").read_bytes(), "application/rss+xml")
    server.delay = 1.0
    follower = archive.follower([f"{server.url}/feed.xml"], timeout=0.2, on_poll=lambda p: None)
    (poll,) = follower.poll_all()
    follower.close()
    assert poll.status == "failed" and poll.error.startswith("timed out")
    assert archive.stats()["articles"] == 0
