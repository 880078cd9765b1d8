"""Articles over HTTP: a feed URL gives its entries, any other URL one article page, and
`with_pages` replaces feed entries' summaries by the text of the pages they link to."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import httpx

from ..errors import InputError
from ..outlets import is_derived
from ..records import Article
from .feeds import is_feed, parse_feed
from .html import parse_html

DEFAULT_TIMEOUT = 20.0
USER_AGENT = "newsarchive/0.1 (+https://github.com/newsarchive)"


def http_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    return httpx.Client(timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT})


def get(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """GET, with every transport failure turned into one readable InputError."""
    try:
        return client.get(url, headers=headers or {})
    except httpx.TimeoutException as exc:
        raise InputError(f"{url}: timed out ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise InputError(f"{url}: cannot fetch ({type(exc).__name__}: {exc})") from exc


def check(url: str, response: httpx.Response) -> None:
    """An HTTP error status as an InputError naming the URL."""
    if response.status_code >= 400:
        raise InputError(f"{url}: HTTP {response.status_code} {response.reason_phrase}".rstrip())


def fetch_articles(
    url: str,
    *,
    fetch_pages: bool = False,
    client: httpx.Client | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[Article | InputError]:
    """A feed URL gives its entries; any other URL is read as one article page."""
    own = client is None
    client = client or http_client(timeout)
    try:
        response = get(client, url)
        check(url, response)
        content_type = response.headers.get("content-type", "")
        if not is_feed(response.content, content_type):
            yield parse_html(response.content, url, url=str(response.url))
            return
        articles = parse_feed(response.content, url, feed_url=url)
        yield from (with_pages(articles, client) if fetch_pages else articles)
    finally:
        if own:
            client.close()


def with_pages(
    articles: Iterable[Article], client: httpx.Client | None = None
) -> Iterator[Article | InputError]:
    """Replace each entry's summary by the text of the page it links to (trafilatura).

    The feed stays the authority for the entry's identity, title, date and source; the page
    adds the full text, and the byline when the feed had none. An entry whose page cannot be
    read is reported and kept with the feed's own text.
    """
    own = client is None
    client = client or http_client()
    try:
        for article in articles:
            if not article.url:
                yield article
                continue
            try:
                response = get(client, article.url)
                check(article.url, response)
                page = parse_html(response.content, article.url, url=str(response.url))
            except InputError as exc:
                yield InputError(f"{article.origin}: {exc}; kept the feed's text instead")
                yield article
                continue
            article.paragraphs = page.paragraphs
            article.title = article.title or page.title
            article.author = article.author or page.author
            article.date = article.date or page.date
            article.date_raw = article.date_raw or page.date_raw
            if is_derived(article.source, article.metadata) and page.source:
                article.source = page.source  # the page names the outlet; the feed could not
            article.metadata = {**page.metadata, **article.metadata, "fetched": True}
            article.metadata.pop("headline_only", None)
            article.warnings.extend(page.warnings)
            yield article
    finally:
        if own:
            client.close()
