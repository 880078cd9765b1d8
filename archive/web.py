"""What newsrooms publish: HTML article pages (trafilatura) and RSS/Atom feeds (feedparser)."""

from __future__ import annotations

import re
from typing import Any

from .cleaning import clean_paragraphs, normalise_whitespace
from .models import Article, InputError
from .urls import domain_of

_FEED_ROOT_RE = re.compile(rb"<(rss|feed|rdf:RDF)[\s>]", re.IGNORECASE)


def looks_like_feed(head: bytes) -> bool:
    return bool(_FEED_ROOT_RE.search(head[:4096]))


def parse_html(html: str | bytes, origin: str, url: str | None = None) -> Article:
    """Extract the article (text, title, byline, date, site, canonical URL) from a page.

    Navigation, cookie banners, comments and footers are left out by trafilatura.
    """
    import trafilatura

    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
        date_extraction_params={"original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"},
    )
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not text.strip():
        raise InputError(f"{origin}: no article text found in the page")
    title = normalise_whitespace(doc.title or "")
    paragraphs = text.split("\n")
    if paragraphs and title and normalise_whitespace(paragraphs[0]) == title:
        paragraphs = paragraphs[1:]  # the page's <h1> repeats the title
    paragraphs = clean_paragraphs(paragraphs)
    if not paragraphs:
        raise InputError(f"{origin}: no article text found in the page")
    page_url = doc.url or url
    return Article(
        title=title,
        paragraphs=paragraphs,
        author=doc.author or None,
        source=doc.sitename or domain_of(page_url),
        date=doc.date or None,
        date_raw=doc.date or None,
        url=page_url,
        metadata={k: v for k, v in {"description": doc.description}.items() if v},
        origin=origin,
    )


_EMAIL_NAME_RE = re.compile(r"^\s*\S+@\S+\s*\((?P<name>[^()]+)\)\s*$")


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
    """Each entry becomes an article; the feed's title is its source."""
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
        paragraphs = clean_paragraphs(html_to_paragraphs(_entry_text(entry)))
        if not paragraphs:
            continue
        date_raw = entry.get("published") or entry.get("updated")
        metadata: dict[str, Any] = {}
        tags = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
        if tags:
            metadata["tags"] = tags
        if feed_url:
            metadata["feed"] = feed_url
        articles.append(
            Article(
                id=entry.get("id") or None,
                title=normalise_whitespace(entry.get("title", "")),
                paragraphs=paragraphs,
                author=entry_author(entry),
                source=feed_title or domain_of(link or site),
                date=date_raw,
                date_raw=date_raw,
                url=link,
                metadata=metadata,
                origin=f"{origin} entry {i + 1}",
            )
        )
    return articles
