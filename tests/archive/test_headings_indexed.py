"""Headlines are searchable: an article's heading (title, and a standfirst the body does not
hold) is indexed beside every passage, in the keyword index and blended into the vectors, and
re-indexed when it changes; results still show the passage's own text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from newsarchive.archive import Archive
from newsarchive.archive.ingest.embed import HEADING_WEIGHT, input_hash, text_hash
from newsarchive.archive.store import Store

from conftest import FIXTURES

KENYA = {
    "id": "kenya",
    "title": "Kenyan school turns to handhelds",
    "body": "Pupils at a primary school outside Nairobi now read their lessons on small "
    "computers that fit in a pocket.\n\nTeachers say attendance has risen since the devices "
    "arrived, and parents pay nothing for them.",
}
OTHER = {
    "id": "wales",
    "title": "Welsh pupils get tablets",
    "body": "A school in Cardiff has given every pupil a tablet computer for homework, paid for "
    "by a local charity.",
}


def passages(archive: Archive, article_id: str) -> list[dict]:
    with archive.store.reading() as conn:
        rows = conn.execute(
            "SELECT position, text, heading, text_hash, vector FROM passages "
            "WHERE article_id = ? ORDER BY position",
            [article_id],
        ).fetchall()
    return [dict(zip(("position", "text", "heading", "hash", "vector"), r)) for r in rows]


def test_a_word_only_in_the_title_is_found_by_keyword_search(archive: Archive):
    archive.ingest_articles([KENYA, OTHER])
    response = archive.search("Kenyan", mode="keyword")
    assert [h.article.id for h in response.hits] == ["kenya"]
    hit = response.hits[0]
    # the result shows the passage's own text, the title is not glued into it
    assert "Kenyan" not in hit.text + hit.snippet and hit.text.startswith("Pupils at")
    assert hit.article.title == "Kenyan school turns to handhelds"
    hybrid = archive.search("Kenyan handhelds", mode="hybrid")
    assert hybrid.hits[0].article.id == "kenya"
    # every passage carries the heading; body passages keep positions from 0
    stored = passages(archive, "kenya")
    assert [p["position"] for p in stored] == list(range(len(stored)))
    assert {p["heading"] for p in stored} == {"Kenyan school turns to handhelds"}


def test_a_new_archive_blends_the_heading_into_its_vectors(archive: Archive, hash_embedder):
    archive.ingest_articles([KENYA])
    assert archive.stats()["heading_weight"] == HEADING_WEIGHT
    [first, *_] = passages(archive, "kenya")
    text_vector, heading_vector = hash_embedder.encode([first["text"], first["heading"]])
    mixed = text_vector + HEADING_WEIGHT * heading_vector
    expected = mixed / np.linalg.norm(mixed)
    np.testing.assert_allclose(np.frombuffer(first["vector"], np.float32), expected, atol=1e-6)
    assert first["hash"] == input_hash(first["text"], first["heading"], HEADING_WEIGHT)
    assert first["hash"] != text_hash(first["text"])


def test_bodies_only_passages_are_indexed_as_before(archive: Archive, hash_embedder):
    """No title (as the dev-set archives are built): the text alone, as before titles."""
    archive.ingest_articles([KENYA], keep_titles=False)
    [first, *_] = passages(archive, "kenya")
    assert first["heading"] == "" and first["hash"] == text_hash(first["text"])
    np.testing.assert_allclose(
        np.frombuffer(first["vector"], np.float32), hash_embedder.encode([first["text"]])[0]
    )
    assert archive.search("Kenyan", mode="keyword").hits == []


def test_a_changed_title_reindexes_the_article_and_nothing_else(archive: Archive):
    archive.ingest_articles([KENYA, OTHER])
    renamed = {**KENYA, "title": "Nairobi classroom goes digital"}
    report = archive.ingest_articles([renamed, OTHER])
    assert (report.changed, report.unchanged) == (1, 1)
    assert report.passages_embedded == len(passages(archive, "kenya"))
    assert archive.search("Kenyan", mode="keyword").hits == []
    assert archive.search("digital", mode="keyword").hits[0].article.id == "kenya"
    assert {p["heading"] for p in passages(archive, "kenya")} == {renamed["title"]}
    again = archive.ingest_articles([renamed, OTHER])
    assert (again.unchanged, again.passages_embedded) == (2, 0)


def test_a_standfirst_kept_in_the_metadata_is_part_of_the_heading(archive: Archive):
    page = {**KENYA, "description": "Solar-charged devices replace exercise books"}
    archive.ingest_articles([page])
    assert archive.search("exercise books", mode="keyword").hits[0].article.id == "kenya"
    heading = passages(archive, "kenya")[0]["heading"]
    assert heading == "Kenyan school turns to handhelds \u2014 Solar-charged devices replace " \
        "exercise books"  # fmt: skip
    # a standfirst that is the body's first paragraph is not indexed twice
    shown = {**OTHER, "description": OTHER["body"]}
    archive.ingest_articles([shown])
    assert passages(archive, "wales")[0]["heading"] == "Welsh pupils get tablets"


def test_a_headline_alone_is_stored_and_searchable(archive: Archive, tmp_path: Path):
    records = [
        {"id": "flash", "title": "Kenyan runner breaks marathon record", "body": ""},
        {"id": "nothing", "title": "", "body": "  "},
    ]
    source = tmp_path / "flash.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    text = tmp_path / "brief.txt"
    text.write_text("Ferry strike called off\n")
    report = archive.ingest([source, text])
    assert (report.new, report.error_count) == (2, 1)
    assert report.errors == [f"{source}:2: article 'nothing' has neither a title nor body text"]
    hit = archive.search("marathon", mode="keyword").hits[0]
    assert hit.article.id == "flash" and hit.text == "Kenyan runner breaks marathon record"
    assert archive.get("flash")["metadata"]["headline_only"] is True
    # the passage is the headline, so the heading does not repeat it
    assert passages(archive, "flash")[0]["heading"] == ""
    assert archive.search("ferry strike", mode="keyword").hits[0].article.id == "brief"


def test_an_archive_from_before_titles_gets_keyword_headings_and_keeps_its_vectors(
    tmp_path: Path,
):
    data = tmp_path / "old"
    shutil.copytree(FIXTURES / "archive-v0", data)
    with sqlite_vectors(data / "archive.db") as before:
        pass
    store = Store(data / "archive.db")
    try:
        assert store.get_meta("heading_weight") == "0"
        with store.reading() as conn:
            heading = conn.execute(
                "SELECT heading FROM passages WHERE article_id = 'tech-1'"
            ).fetchone()[0]
            found = conn.execute(
                "SELECT p.article_id FROM passages_fts JOIN passages p ON p.id = passages_fts.rowid "
                "WHERE passages_fts MATCH 'broadband'"
            ).fetchall()
            after = dict(conn.execute("SELECT id, vector FROM passages").fetchall())
    finally:
        store.close()
    assert heading == "Broadband take-up soars"
    assert found == [("tech-1",)]  # "broadband" is only in the title
    assert after == before  # vectors untouched until `reindex --reembed`


class sqlite_vectors:
    """The stored vectors of a database, read without migrating it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> dict[int, bytes]:
        import sqlite3

        conn = sqlite3.connect(self.path)
        try:
            return dict(conn.execute("SELECT id, vector FROM passages").fetchall())
        finally:
            conn.close()

    def __exit__(self, *exc: object) -> None:
        return None


FEED = """<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Wire</title><link>https://wire.example/</link>
<item><title>Kenyan school turns to handhelds</title><link>https://wire.example/kenya</link>
<description>Solar-charged devices replace exercise books</description>
<content:encoded><![CDATA[<p>Pupils near Nairobi now read lessons on pocket computers.</p>
<p>Teachers say attendance has risen.</p>]]></content:encoded></item>
<item><title>Ferry strike called off</title><link>https://wire.example/ferry</link></item>
<item><link>https://wire.example/empty</link></item>
</channel></rss>
"""


def test_feed_entries_headline_only_kept_empty_reported_summary_indexed(
    archive: Archive, tmp_path: Path
):
    feed = tmp_path / "wire.rss"
    feed.write_text(FEED)
    report = archive.ingest([feed])
    assert (report.new, report.error_count) == (2, 1)
    assert report.errors == [f"{feed} entry 3: neither a headline nor text; skipped"]
    assert archive.search("ferry", mode="keyword").hits[0].article.url.endswith("/ferry")
    # the entry's summary is its standfirst: indexed with the title, not shown as its text
    hit = archive.search("exercise books", mode="keyword").hits[0]
    assert hit.article.url.endswith("/kenya") and hit.text.startswith("Pupils near Nairobi")
    assert archive.search("Kenyan", mode="keyword").hits[0].article.url.endswith("/kenya")


def test_a_changed_standfirst_reindexes_the_article(archive: Archive):
    page = {**KENYA, "description": "Solar-charged devices replace exercise books"}
    archive.ingest_articles([page])
    edited = {**page, "description": "Donated phones replace textbooks"}
    report = archive.ingest_articles([edited])
    assert (report.changed, report.passages_embedded) == (1, len(passages(archive, "kenya")))
    assert archive.search("exercise", mode="keyword").hits == []
    assert archive.search("textbooks", mode="keyword").hits[0].article.id == "kenya"
