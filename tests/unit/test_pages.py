"""Cleaner pages, one test per fixture page (tests/fixtures/pages/*/expected.json): the stored
title without site suffixes, a person (not a publisher) as author, the article's own date with
its time of day, the outlet's name and registered domain, no page furniture in the passages,
and a warning for a page whose text is suspiciously short."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsarchive.archive.dates import normalise_date
from newsarchive.archive.sources.html import parse_html

from conftest import FIXTURES

PAGES = FIXTURES / "pages"
PAGE_FIXTURES = sorted(p.parent.name for p in PAGES.glob("*/page.html") if p.parent.name != "heise")


def expected(name: str) -> dict:
    return json.loads((PAGES / name / "expected.json").read_text(encoding="utf-8"))


def parsed(name: str, path: Path | None = None):
    """The page as `ingest` reads a saved file (no URL given: the page's canonical link)."""
    page = path or PAGES / name / "page.html"
    return parse_html(page.read_bytes(), name)


def check_page(article, want: dict) -> None:
    assert article.title == want["title"]
    assert article.author == want["author"] or article.author in want.get("author_acceptable", [])
    for bad in want.get("author_not_contain", []):
        assert bad not in (article.author or "")
    stored = normalise_date(article.date)
    if want["date_precision"] == "day":
        assert stored == want["date"], f"{stored!r}: a date-only page is stored as a day"
    else:
        assert stored == want["date"]
    acceptable = [s.casefold() for s in want.get("source_acceptable", [want.get("source")])]
    assert article.source.casefold() in acceptable
    text = "\n".join(article.paragraphs)
    for wanted in want.get("passages_contain", []) + want.get("searchable_contain", []):
        assert wanted in text, wanted
    for furniture in want.get("passages_not_contain", []):
        assert furniture not in text, furniture


@pytest.mark.parametrize("name", PAGE_FIXTURES)
def test_page_fixture(name: str):
    want = expected(name)
    article = parsed(name)
    check_page(article, want)
    assert article.metadata["site"] == want["source_domain"]
    assert article.url == want["url"]
    if want.get("outcome") == "warn_or_refuse":
        assert len(article.warnings) == 1
        for word in want.get("warning_contains", []):
            assert word in article.warnings[0]
        assert article.warnings[0].startswith(f"{name}: suspiciously short article text: ")
    else:
        assert article.warnings == []


def test_heise_page_fixture():
    want = expected("heise")
    article = parsed("heise", PAGES / "heise" / "page.html")
    check_page(article, {**want["page"], "source_acceptable": want["source_acceptable"]})
    assert article.metadata["site"] == want["registered_domain"]


def test_fixture_list_is_complete():
    """Every page folder is tested (a new fixture without a test would pass unnoticed)."""
    folders = {p.name for p in PAGES.iterdir() if p.is_dir()}
    assert folders == {*PAGE_FIXTURES, "heise", "feed_headline_only"}
    assert len(PAGE_FIXTURES) == 7


def test_scmp_warning_names_the_page_and_the_scripts():
    (warning,) = parsed("scmp").warnings
    assert warning == (
        "scmp: suspiciously short article text: 26 words from a 4,976-byte page (1,021 "
        "characters of text sit in scripts: rendered by JavaScript?); stored, check the page"
    )


def test_pages_of_older_fixtures_are_unchanged():
    """The first page fixture keeps its three paragraphs and gets no warning or standfirst."""
    article = parse_html((FIXTURES / "article.html").read_bytes(), "article.html")
    assert len(article.paragraphs) == 3 and article.warnings == []
