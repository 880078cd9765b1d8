"""Article pages: the text, title, byline, date, outlet and canonical URL of an HTML page.

trafilatura extracts the article (navigation, cookie banners, comments and footers left out)
and htmldate its date; what they offer is used first, and a few small rules of ours cover what
they do not, each checked on a fixture page in tests/fixtures/pages/:

* dates: htmldate reads a date in the URL before the page's metas, and a URL has no time of
  day; `deferred_url_extractor` makes the URL a fallback, so a page's timestamp survives. A
  result without time or zone is a day (htmldate found only a day) and is stored as one. When
  a page has no article-level date but generic `dateCreated`/`dateModified`/`date` metas (a
  template's, often years off), the date is looked for again without them.
* furniture inside the article body ("Read more:" lines, "originally published" footers,
  related-headline lists under a heading, newsletter pitches) is pruned with XPaths
  (trafilatura's `prune_xpath`).
* titles lose a trailing " | Site | 19.01.2020": the page's single <h1> is the headline when it
  starts the title, else trailing segments naming the site or a date are dropped.
* a byline that names the publisher (and its city) is no author: those names go to
  trafilatura's `author_blacklist` and the byline is read again.
* the standfirst (og:description, shown on the page) is the first passage when the body does
  not already hold it, so it is searchable, not only metadata.
* suspiciously short text for the page (a JavaScript-rendered body, a paywall) is stored with
  a warning naming the page.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from ..errors import InputError
from ..outlets import web_source
from ..records import Article
from .cleaning import clean_paragraphs, normalise_whitespace

DATE_PARAMS = {
    "original_date": True,  # the publication date, not the last modification
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "deferred_url_extractor": True,  # the URL's date (no time of day) only as a fallback
}

_RELATED_HEADINGS = (
    "Editors' Recommendations", "Editor's Recommendations", "Recommended",
    "Recommended for you", "Related", "Related articles", "Related stories",
    "Related coverage", "Read more", "Read next", "More on this story", "More from",
    "You may also like", "Most read",
)  # fmt: skip
_HEADING_TEST = " or ".join(f'normalize-space(.)="{h}"' for h in _RELATED_HEADINGS)
_HEADING = f"*[self::h2 or self::h3 or self::h4][{_HEADING_TEST}]"


def _starts(*prefixes: str) -> str:
    return " or ".join(f'starts-with(normalize-space(.), "{p}")' for p in prefixes)


_LOWER = "translate(., 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
PRUNE_XPATH = [
    # "Read more: <another headline>" lines inside the body
    f"//p[{_starts('Read more:', 'READ MORE:', 'Read more about', 'Also read:')}]",
    # republication footers
    "//p["
    + _starts(
        "This article was originally published",
        "This story was originally published",
        "Originally published",
    )
    + "]",
    # a heading that announces related headlines, and the list right after it
    f"//{_HEADING}/following-sibling::*[1][self::ul or self::ol]",
    f"//{_HEADING}",
    # newsletter pitches: a short paragraph that asks to sign up
    f"//p[string-length(normalize-space(.)) < 300 and contains({_LOWER}, 'newsletter') and "
    f"(contains({_LOWER}, 'sign up') or contains({_LOWER}, 'inbox') or "
    f"contains({_LOWER}, 'subscribe'))]",
]
EXTRACTION: dict[str, Any] = {
    "with_metadata": True,
    "include_comments": False,
    "include_tables": False,
    "favor_precision": True,
    "date_extraction_params": DATE_PARAMS,
    "prune_xpath": PRUNE_XPATH,
}

# A page's own article date, which wins over generic template metas.
_ARTICLE_DATE = (
    "//meta[@property='article:published_time' or @itemprop='datePublished']"
    " | //script[@type='application/ld+json'][contains(., 'datePublished')]"
    " | //*[@itemprop='datePublished']"
)
_NAME = "translate(@name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
_GENERIC_DATE_METAS = (
    f"//meta[@name][{_NAME}='datecreated' or {_NAME}='datemodified' or {_NAME}='date' "
    f"or {_NAME}='dc.date']"
)
_DAY_ONLY = re.compile(r"^(\d{4}-\d{2}-\d{2})T00:00:00$")  # htmldate found no time or zone
_TITLE_SEPARATOR = re.compile(r"(\s+[|\-–—·]\s+)")
_DATE_SEGMENT = re.compile(r"^\d{1,2}[./]\d{1,2}[./]\d{2,4}$|^\d{4}-\d{2}-\d{2}$")
_SCRIPT_STRING = re.compile(r'"((?:[^"\\]|\\.){80,})"')  # long strings: text kept in scripts

MIN_WORDS = 50  # fewer words of article text than this is worth a look
SCRIPT_TEXT_RATIO = 3  # scripts holding 3x the extracted text: the body is rendered by JS


def parse_html(html: str | bytes, origin: str, url: str | None = None) -> Article:
    """Extract the article of one page; a page without article text is an InputError."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, **EXTRACTION)
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not text.strip():
        raise InputError(f"{origin}: no article text found in the page")
    page = _tree(html)
    names = site_names(page, doc)
    title = clean_title(normalise_whitespace(doc.title or ""), names, _h1s(page))
    paragraphs = text.split("\n")
    if paragraphs and title and normalise_whitespace(paragraphs[0]) == title:
        paragraphs = paragraphs[1:]  # the page's <h1> repeats the title
    paragraphs = clean_paragraphs(paragraphs)
    if not paragraphs:
        raise InputError(f"{origin}: no article text found in the page")
    description = normalise_whitespace(doc.description or "")
    body_words = len(" ".join(paragraphs).split())
    if is_standfirst(description, title, paragraphs, page):
        paragraphs = [description, *paragraphs]
    page_url = doc.url or url
    metadata: dict[str, Any] = {"description": description} if description else {}
    site_name = names[0] if names else None
    date = page_date(page, doc.date)
    return Article(
        title=title,
        paragraphs=paragraphs,
        author=clean_author(html, url, doc.author, names),
        source=web_source(metadata, page_url, site_name=site_name),
        date=date,
        date_raw=doc.date or None,
        url=page_url,
        metadata=metadata,
        origin=origin,
        warnings=short_text_warning(origin, html, page, body_words, len(" ".join(paragraphs))),
    )


def _tree(html: str | bytes):
    """The page as an lxml tree for our own rules (trafilatura prunes its own copy)."""
    from trafilatura.utils import load_html

    return load_html(html)


def _h1s(page) -> list[str]:
    if page is None:
        return []
    return [normalise_whitespace(h.text_content()) for h in page.iter("h1")]


def _json_ld(page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if page is None:
        return found
    for block in page.xpath("//script[@type='application/ld+json']/text()"):
        try:
            data = json.loads(block)
        except ValueError:
            continue
        items = data if isinstance(data, list) else [data]
        found.extend(item for item in items if isinstance(item, dict))
    return found


def site_names(page, doc: Any) -> list[str]:
    """The names a page gives its site, best first: og:site_name as written (trafilatura
    title-cases "heise online"), the JSON-LD publisher, trafilatura's site name."""
    names: list[str] = []
    if page is not None:
        names.extend(page.xpath("//meta[@property='og:site_name']/@content"))
        for item in _json_ld(page):
            publisher = item.get("publisher")
            if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
                names.append(publisher["name"])
    if getattr(doc, "sitename", None):
        names.append(doc.sitename)
    cleaned = [normalise_whitespace(n) for n in names if n and n.strip()]
    return list(dict.fromkeys(cleaned))


def clean_title(title: str, names: list[str], h1s: list[str]) -> str:
    """Drop a site suffix (`... | DW | 19.01.2020`): the page's single <h1> is the headline
    when it starts the title; else trailing segments naming the site or a date go."""
    if len(h1s) == 1 and len(h1s[0]) >= 10 and title.startswith(h1s[0]):
        return h1s[0]
    pieces = _TITLE_SEPARATOR.split(title)  # [part, separator, part, ...]
    folded = {n.casefold().removesuffix(".com") for n in names}
    while len(pieces) > 1 and (
        pieces[-1].casefold().removesuffix(".com") in folded or _DATE_SEGMENT.match(pieces[-1])
    ):
        del pieces[-2:]
    return "".join(pieces)


def clean_author(
    html: str | bytes, url: str | None, author: str | None, names: list[str]
) -> str | None:
    """A byline naming the publisher ("SPIEGEL ONLINE; Hamburg; Germany") is no author: its
    parts go to trafilatura's author blacklist and the byline is read again."""
    if not author:
        return None
    parts = [p.strip() for p in author.split(";") if p.strip()]
    folded = [n.casefold() for n in names]
    if not any(n in p.casefold() or p.casefold() in n for p in parts for n in folded):
        return author
    from trafilatura.metadata import extract_metadata

    again = extract_metadata(
        _tree(html), default_url=url, date_config=DATE_PARAMS, author_blacklist=set(parts)
    )
    return getattr(again, "author", None) or None


def page_date(page, found: str | None) -> str | None:
    """htmldate's date, unless it came from a template's generic metas; a day stays a day."""
    if found and page is not None and not page.xpath(_ARTICLE_DATE):
        if page.xpath(_GENERIC_DATE_METAS):
            from htmldate import find_date

            page = copy.deepcopy(page)
            for meta in page.xpath(_GENERIC_DATE_METAS):
                meta.getparent().remove(meta)
            again = find_date(page, **DATE_PARAMS)
            if again and again[:10] != found[:10]:
                found = again
    if not found:
        return None
    day = _DAY_ONLY.match(found)
    return day.group(1) if day else found


def is_standfirst(description: str, title: str, paragraphs: list[str], page) -> bool:
    """The description is the page's standfirst when it is shown on the page (not only a
    site-wide blurb in the head), is not the title, and the body does not already start
    with it."""
    if not description or description == title or page is None:
        return False
    opening = description[:60]
    if opening in " ".join(paragraphs):
        return False
    shown = page.xpath("//body//text()[not(ancestor::script or ancestor::style)]")
    return opening in normalise_whitespace(" ".join(shown))


def short_text_warning(
    origin: str, html: str | bytes, page, words: int, characters: int
) -> list[str]:
    """A warning when a page gives suspiciously little text: few words, or far more text in
    its scripts than in its article (a body rendered by JavaScript)."""
    in_scripts = 0
    if page is not None:
        for script in page.xpath("//script[not(@src)]/text()"):
            in_scripts += sum(len(s) for s in _SCRIPT_STRING.findall(script))
    rendered = in_scripts > SCRIPT_TEXT_RATIO * characters
    if words >= MIN_WORDS and not rendered:
        return []
    size = len(html.encode("utf-8") if isinstance(html, str) else html)
    note = (
        f" ({in_scripts:,} characters of text sit in scripts: rendered by JavaScript?)"
        if rendered
        else ""
    )
    return [
        f"{origin}: suspiciously short article text: {words} words from a {size:,}-byte page"
        f"{note}; stored, check the page"
    ]
