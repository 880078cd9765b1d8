"""Article pages: the text, title, byline, date, site and canonical URL of an HTML page,
extracted with trafilatura (navigation, cookie banners, comments and footers left out)."""

from __future__ import annotations

from ..errors import InputError
from ..records import Article
from ..urls import domain_of
from .cleaning import clean_paragraphs, normalise_whitespace


def parse_html(html: str | bytes, origin: str, url: str | None = None) -> Article:
    """Extract the article of one page; a page without article text is an InputError."""
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
