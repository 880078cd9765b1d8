"""One outlet, one name: how an article read from the web gets its `source`.

A feed is titled after a section ("heise developer neueste Meldungen") while a page of the same
outlet names the site ("heise online"); a site name also drifts over the years ("SPIEGEL
ONLINE", "DER SPIEGEL"). What stays is the registered domain (`heise.de` for
`www.heise.de/developer/...`, from the public-suffix list bundled with `tld`, no network).
So an article read from a page or a feed carries, in its metadata:

* `site`: the registered domain, the outlet's key;
* `site_name`: the name the page gives itself (og:site_name, JSON-LD publisher), if any;
* `feed_title`: the title of the feed it came from, if any;

and its `source` is the site name when the page gives one, else the domain. The store then
keeps one name per domain (the first site name it learns, store/outlets.py), so later pages and
the entries of any feed of that outlet are stored under that name, and articles stored under
the bare domain before the name was known are renamed. `--source` matches the name or any of
the three keys. A source given explicitly (a JSONL `source` field, `ingest --source`) is kept
as it is.

This module is the one place these rules live; sources/, store/ and search/ all use it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

SITE = "site"  # the registered domain
SITE_NAME = "site_name"  # the page's own name for its site
FEED_TITLE = "feed_title"  # the title of the feed an entry came from
SOURCE_KEYS = (SITE, SITE_NAME, FEED_TITLE)  # what `--source` matches besides the name


def registered_domain(url: str | None) -> str | None:
    """`heise.de` for https://www.heise.de/developer/rss.xml, `bbc.co.uk` for
    news.bbc.co.uk; the bare host when the public-suffix list does not know it."""
    if not url:
        return None
    from tld import get_fld

    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    if not host:
        return None
    found = get_fld(f"http://{host}", fail_silently=True)
    return found or (host[4:] if host.startswith("www.") else host)


def web_source(
    metadata: dict[str, Any],
    url: str | None,
    *,
    site_name: str | None = None,
    feed_title: str | None = None,
) -> str | None:
    """Record the outlet keys of a web article in `metadata`; returns its `source`."""
    domain = registered_domain(url)
    for key, value in ((SITE, domain), (SITE_NAME, site_name), (FEED_TITLE, feed_title)):
        if value:
            metadata[key] = value
    return site_name or domain


def is_derived(source: str | None, metadata: dict[str, Any]) -> bool:
    """Whether `source` is the web rule's own choice (not a name the user gave), and so may
    be replaced by the name the archive already knows for the outlet."""
    return bool(source) and source in (metadata.get(SITE), metadata.get(SITE_NAME))
