"""Articles over HTTP: a feed URL gives its entries, any other URL one article page, and
`with_pages` replaces feed entries' summaries by the text of the pages they link to.

Whatever is fetched is guarded, since a feed names the links it wants fetched: only http and
https URLs, only hosts whose every address is public (not loopback, private, link-local,
multicast, reserved or otherwise non-global), checked after DNS resolution and again on the
address actually connected to (so a name that resolves differently the second time is caught),
on every redirect, which are followed here one by one for that reason. `allow_private` (the
CLI's `--allow-private`, NEWSARCHIVE_ALLOW_PRIVATE=1) lifts the address rule for an intranet.
Bodies are streamed and cut off at `Limits.http_bytes` (counted after decompression).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import httpx

from ..config import configured_allow_private, configured_limits
from ..errors import InputError
from ..outlets import is_derived
from ..records import Article
from .feeds import is_feed, parse_feed
from .html import parse_html

DEFAULT_TIMEOUT = 20.0
MAX_REDIRECTS = 10
REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = "newsarchive/0.1 (+https://github.com/newsarchive)"
OPT_IN = "pass --allow-private (or set NEWSARCHIVE_ALLOW_PRIVATE=1) to fetch it"


@dataclass
class Fetched:
    """A complete answer, read within the size limit."""

    url: str  # after redirects
    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes


def http_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    """A client that does not follow redirects itself: `get` follows and checks each one."""
    return httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT})


def address_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What makes an address one we do not fetch by default (None: a public address)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return kind
    return None if ip.is_global else "non-public"


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), or whose host resolves to a non-public address."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise InputError(f"{url}: not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise InputError(f"{url}: only http and https URLs are fetched")
    if not parsed.host:
        raise InputError(f"{url}: the URL names no host")
    if allow_private:
        return
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise InputError(f"{url}: cannot resolve {parsed.host} ({reason})") from None
    for info in infos:
        _check_address(url, parsed.host, str(info[4][0]))


def _check_address(url: str, host: str, address: str) -> None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    kind = address_kind(ip)
    if kind is not None:
        raise InputError(f"{url}: refused, {host} is a {kind} address ({ip}); {OPT_IN}")


def _check_peer(url: str, response: httpx.Response) -> None:
    """The address the connection actually reached (DNS may answer differently twice)."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer:
        _check_address(url, httpx.URL(url).host, str(peer[0]))


def _read_body(url: str, response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(url, limit)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise _too_large(url, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(url: str, limit: int) -> InputError:
    return InputError(
        f"{url}: the response is larger than {limit:,} bytes (NEWSARCHIVE_MAX_HTTP_BYTES); not read"
    )


def get(
    client: httpx.Client,
    url: str,
    headers: dict[str, str] | None = None,
    *,
    allow_private: bool | None = None,
) -> Fetched:
    """GET `url`, following redirects one by one, each target checked; the body is read up to
    the size limit. Every failure is one readable InputError naming the URL."""
    allow = configured_allow_private() if allow_private is None else allow_private
    limit = configured_limits().http_bytes
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        check_url(current, allow_private=allow)
        try:
            request = client.build_request("GET", current, headers=headers or {})
            response = client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise InputError(f"{url}: timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise InputError(f"{url}: cannot fetch ({type(exc).__name__}: {exc})") from exc
        try:
            if not allow:
                _check_peer(current, response)
            if response.status_code in REDIRECTS and "location" in response.headers:
                try:
                    current = str(response.url.join(response.headers["location"]))
                except (httpx.InvalidURL, TypeError, ValueError) as exc:
                    raise InputError(f"{url}: a redirect to an invalid URL ({exc})") from None
                continue
            try:
                content = _read_body(url, response, limit)
            except httpx.TimeoutException as exc:
                raise InputError(f"{url}: timed out ({type(exc).__name__})") from exc
            except httpx.HTTPError as exc:
                raise InputError(f"{url}: cannot fetch ({type(exc).__name__}: {exc})") from exc
            return Fetched(
                str(response.url),
                response.status_code,
                response.reason_phrase,
                response.headers,
                content,
            )
        finally:
            response.close()
    raise InputError(f"{url}: more than {MAX_REDIRECTS} redirects")


def check(url: str, response: Fetched) -> None:
    """An HTTP error status as an InputError naming the URL."""
    if response.status_code >= 400:
        raise InputError(f"{url}: HTTP {response.status_code} {response.reason_phrase}".rstrip())


def fetch_articles(
    url: str,
    *,
    fetch_pages: bool = False,
    client: httpx.Client | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    allow_private: bool | None = None,
) -> Iterator[Article | InputError]:
    """A feed URL gives its entries; any other URL is read as one article page."""
    own = client is None
    client = client or http_client(timeout)
    try:
        response = get(client, url, allow_private=allow_private)
        check(url, response)
        content_type = response.headers.get("content-type", "")
        if not is_feed(response.content, content_type):
            yield parse_html(response.content, url, url=response.url)
            return
        articles = parse_feed(response.content, url, feed_url=url)
        if fetch_pages:
            yield from with_pages(articles, client, allow_private=allow_private)
        else:
            yield from articles
    finally:
        if own:
            client.close()


def with_pages(
    articles: Iterable[Article],
    client: httpx.Client | None = None,
    *,
    allow_private: bool | None = None,
) -> Iterator[Article | InputError]:
    """Replace each entry's summary by the text of the page it links to (trafilatura).

    The feed stays the authority for the entry's identity, title, date and source; the page
    adds the full text, and the byline when the feed had none. An entry whose page cannot be
    read (or may not be: a private address) is reported and kept with the feed's own text.
    """
    own = client is None
    client = client or http_client()
    try:
        for article in articles:
            if not article.url:
                yield article
                continue
            try:
                response = get(client, article.url, allow_private=allow_private)
                check(article.url, response)
                page = parse_html(response.content, article.url, url=response.url)
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
