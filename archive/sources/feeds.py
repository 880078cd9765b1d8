"""RSS and Atom feeds (feedparser): each entry becomes an article.

An entry's outlet is the registered domain of its link (outlets.py), not the feed's title,
which names a section ("heise developer neueste Meldungen"); the title is kept as metadata
(`feed_title`) and `--source` matches it. An entry with a headline and no text is kept, its
headline as its text (marked `headline_only`), so it is searchable rather than dropped.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import InputError
from ..outlets import web_source
from ..records import Article
from .cleaning import clean_paragraphs, normalise_whitespace

_FEED_ROOT_RE = re.compile(rb"<(rss|feed|rdf:RDF)[\s>]", re.IGNORECASE)
_EMAIL_NAME_RE = re.compile(r"^\s*\S+@\S+\s*\((?P<name>[^()]+)\)\s*$")


def looks_like_feed(head: bytes) -> bool:
    return bool(_FEED_ROOT_RE.search(head[:4096]))


def is_feed(data: bytes, content_type: str = "") -> bool:
    """Whether an HTTP answer is a feed, from its first bytes and its content type."""
    content_type = content_type.lower()
    if "html" in content_type and not looks_like_feed(data):
        return False
    return looks_like_feed(data) or any(k in content_type for k in ("rss", "atom", "xml"))


def entry_author(entry: Any) -> str | None:
    """RSS puts 'email (Name)' in <author>: keep the name (feedparser's split trips on some
    e-mail domains), and Atom's <name> as it is."""
    raw = normalise_whitespace(entry.get("author") or "")
    match = _EMAIL_NAME_RE.match(raw)
    if match:
        return match.group("name").strip()
    return raw or (entry.get("author_detail") or {}).get("name") or None


def _entry_text(entry: Any) -> str:
    for content in entry.get("content") or []:
        if content.get("value"):
            return content["value"]
    return entry.get("summary") or entry.get("description") or ""


def html_to_paragraphs(fragment: str) -> list[str]:
    """Feed content is an HTML fragment: keep its block structure as paragraphs."""
    if "<" not in fragment:
        return fragment.split("\n\n")
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # lxml raises several types for broken markup
        return [re.sub(r"<[^>]+>", " ", fragment)]
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    blocks = root.xpath("//p|//li|//h2|//h3|//blockquote")
    if not blocks:
        return root.text_content().split("\n\n")
    return [b.text_content() for b in blocks]


def parse_feed(data: bytes | str, origin: str, feed_url: str | None = None) -> list[Article]:
    """Each entry with a headline or text becomes an article."""
    import feedparser

    parsed = feedparser.parse(data)
    if parsed.bozo and not parsed.entries:
        reason = getattr(parsed, "bozo_exception", "unreadable feed")
        raise InputError(f"{origin}: not a readable RSS/Atom feed ({reason})")
    feed_title = normalise_whitespace(parsed.feed.get("title", "")) or None
    site = parsed.feed.get("link") or feed_url
    articles = []
    for i, entry in enumerate(parsed.entries):
        link = entry.get("link")
        title = normalise_whitespace(entry.get("title", ""))
        paragraphs = clean_paragraphs(html_to_paragraphs(_entry_text(entry)))
        metadata: dict[str, Any] = {}
        if not paragraphs:
            if not title:
                continue  # neither headline nor text: nothing to keep
            paragraphs = [title]
            metadata["headline_only"] = True
        date_raw = entry.get("published") or entry.get("updated")
        tags = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
        if tags:
            metadata["tags"] = tags
        if feed_url:
            metadata["feed"] = feed_url
        source = web_source(metadata, link or site, feed_title=feed_title)
        articles.append(
            Article(
                id=entry.get("id") or None,
                title=title,
                paragraphs=paragraphs,
                author=entry_author(entry),
                source=source or feed_title,
                date=date_raw,
                date_raw=date_raw,
                url=link,
                metadata=metadata,
                origin=f"{origin} entry {i + 1}",
            )
        )
    return articles
