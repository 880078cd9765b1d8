"""One outlet, one name, and what real pages and feeds store: a feed and a page of the same
outlet end under one source whichever comes first, the feed's title is kept and `--source`
matches it, a headline-only feed entry is kept and searchable, a standfirst is searchable, and a
page with suspiciously short text is stored with a warning."""

from __future__ import annotations

import json

import pytest

from newsarchive.archive import Archive

from conftest import FIXTURES

PAGES = FIXTURES / "pages"
HEISE = json.loads((PAGES / "heise" / "expected.json").read_text(encoding="utf-8"))
FEED_IDS = ["http://heise.de/-4640211", "http://heise.de/-4640188"]


def sources(archive: Archive) -> dict[str, int]:
    return archive.stats()["sources"]


@pytest.mark.parametrize("page_first", [False, True])
def test_a_feed_and_a_page_of_one_outlet_end_under_one_name(archive: Archive, page_first: bool):
    inputs = [PAGES / "heise" / "feed.atom", PAGES / "heise" / "page.html"]
    for path in reversed(inputs) if page_first else inputs:
        assert archive.ingest([path]).errors == []
    assert sources(archive) == {"heise online": 3}  # was two: the feed title and "Heise Online"
    entry = archive.get(FEED_IDS[0])
    assert entry["metadata"]["feed_title"] == HEISE["feed_title"]
    assert entry["metadata"]["site"] == HEISE["registered_domain"]
    page = archive.get(HEISE["page_url"])
    assert page["metadata"]["site_name"] == "heise online"  # as the page writes it


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("heise online", 3),
        ("HEISE ONLINE", 3),
        ("heise.de", 3),
        (HEISE["feed_title"], 2),  # the feed's entries only
        ("heise", 0),
    ],
)
def test_source_filter_matches_the_name_the_domain_or_the_feed_title(
    archive: Archive, source: str, found: int
):
    archive.ingest([PAGES / "heise" / "feed.atom", PAGES / "heise" / "page.html"])
    hits = archive.search("Wohnungen Compiler Paket", mode="keyword", source=source).hits
    assert len(hits) == found


def test_a_source_given_by_the_user_is_kept(archive: Archive):
    archive.ingest([PAGES / "heise" / "page.html"])
    archive.ingest([PAGES / "heise" / "feed.atom"], source="Developer Wire")
    assert sources(archive) == {"Developer Wire": 2, "heise online": 1}


def test_a_headline_only_feed_entry_is_kept_and_searchable(archive: Archive):
    want = json.loads((PAGES / "feed_headline_only" / "expected.json").read_text())
    report = archive.ingest([PAGES / "feed_headline_only" / "feed.rss"])
    assert (report.new, report.errors) == (want["entries"], [])  # was 2 of 3, silently
    headline = want["headline_only"]
    stored = archive.get(headline["id"])
    assert stored["title"] == headline["title"] and stored["date"] == headline["date"]
    assert stored["metadata"]["headline_only"] is True
    assert stored["source"].casefold() in [s.casefold() for s in want["source_acceptable"]]
    for words in headline["searchable_contain"]:
        hits = archive.search(words, mode="keyword").hits
        assert hits[0].article.id == headline["id"]


def test_a_standfirst_is_searchable(archive: Archive):
    want = json.loads((PAGES / "standfirst" / "expected.json").read_text())
    archive.ingest([PAGES / "standfirst" / "page.html"])
    (words,) = want["searchable_contain"]
    hits = archive.search(f'"{words}"', mode="keyword").hits
    assert [h.article.id for h in hits] == [want["url"]]
    assert hits[0].position == 0  # the first passage


def test_a_page_with_suspiciously_short_text_is_stored_with_a_warning(archive: Archive, tmp_path):
    page = tmp_path / "scmp.html"
    page.write_bytes((PAGES / "scmp" / "page.html").read_bytes())
    report = archive.ingest([page])
    assert report.new == 1 and report.errors == []
    assert report.warnings == [
        f"{page}: suspiciously short article text: 26 words from a 4,976-byte page (1,021 "
        "characters of text sit in scripts: rendered by JavaScript?); stored, check the page"
    ]
    assert report.summary().endswith("; 1 warnings")


def test_five_real_shaped_pages_store_title_author_date_and_source(archive: Archive):
    """The done-when check of issue 12: what five pages store, as `show` gives it."""
    names = ["guardian", "dw", "spiegel", "rnz", "verge"]
    archive.ingest([PAGES / n / "page.html" for n in names])
    stored = {}
    for name in names:
        article = archive.get(json.loads((PAGES / name / "expected.json").read_text())["url"])
        stored[name] = (article["title"], article["author"], article["date"], article["source"])
    assert stored == {
        "guardian": ("Reservoir levels in southern England fall to lowest January mark since "
                     "records began", "Helen Marsh", "2020-01-20T06:05:18Z", "the Guardian"),
        "dw": ("Berlin tenants' initiative collects signatures for rent freeze vote", None,
               "2020-01-19", "DW.COM"),
        "spiegel": ("Lower Saxony Dairy Farmers Switch to Oat Milk", "Jonas Reinholt",
                    "2019-11-03T16:42:00Z", "SPIEGEL ONLINE"),
        "rnz": ("Kauri dieback found in second Coromandel forest", "Marama Henare",
                "2015-07-14", "RNZ"),
        "verge": ("Why your phone's battery health number is only a rough guess", "Priya Raman",
                  "2020-01-18T19:30:02Z", "The Verge"),
    }  # fmt: skip


def test_the_source_filter_reads_the_source_index(archive: Archive):
    """Other names are resolved through `source_aliases`, so `--source` stays an indexed
    lookup of articles.source (no scan of every article's metadata)."""
    from newsarchive.archive.search.filters import Filters

    archive.ingest([PAGES / "heise" / "feed.atom", PAGES / "heise" / "page.html"])
    clause, params = Filters(sources=["heise.de"]).to_sql("a")
    plan = archive.store.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT COUNT(*) FROM articles a WHERE {clause}", params
    ).fetchall()
    steps = [row[3] for row in plan]
    assert any("USING INDEX articles_source_date" in step for step in steps)
    assert not any(step.startswith("SCAN a") for step in steps)


def test_aliases_of_an_archive_from_before_m004_are_filled(tmp_path, hash_embedder):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest([PAGES / "heise" / "feed.atom", PAGES / "heise" / "page.html"])
        db = archive.store.db
        db.execute("DROP TABLE source_aliases")
        db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm004_source_aliases'")
        db.conn.commit()
    with Archive(data, embedder=hash_embedder) as archive:
        for source, found in (("heise.de", 3), (HEISE["feed_title"], 2)):
            hits = archive.search("Wohnungen Compiler Paket", mode="keyword", source=source)
            assert len(hits.hits) == found
