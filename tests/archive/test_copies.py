"""Copies of one story: exact copies kept as other sources of one article, near copies
clustered, and search showing each story once with the outlets that also ran it."""

from __future__ import annotations

from pathlib import Path

from newsarchive.archive import Archive

from conftest import FIXTURES, write_jsonl

STORY = (
    "Council engineers said on Monday that the old stone bridge over the river Alder will close "
    "for six months from May while its arches are strengthened. Buses will be diverted through "
    "the industrial estate, adding about ten minutes to journeys into the town centre. The "
    "bridge, built in 1821, carries more than twelve thousand vehicles a day, and inspectors "
    "found cracks in two of its three arches after the winter floods. Shops on the high street "
    "asked for free parking during the works, and the council said it would decide next week."
)


def test_same_story_from_two_feeds_is_one_result_listing_both_sources(archive: Archive):
    archive.ingest([FIXTURES / "wire.rss", FIXTURES / "wire.atom"])
    hits = archive.search("ferry winter timetable", limit=10).hits
    ferry = [h for h in hits if "ferry" in h.text.lower()]
    assert len(ferry) == 1
    assert ferry[0].article.source == "gazette.example"
    assert ferry[0].also_in == ["herald.example"]
    assert ferry[0].copies[0].id == "tag:herald.example,2024:ferries"
    assert ferry[0].copies[0].kind == "exact"
    assert archive.stats()["exact_copies"] == 1
    shown = archive.get("gazette-ferries-2024")
    assert [c["source"] for c in shown["copies"]] == ["herald.example"]


def test_near_duplicates_cluster_and_collapse_in_search(archive: Archive, tmp_path: Path):
    edited = STORY.replace("about ten minutes", "roughly ten minutes").replace(
        "decide next week", "decide on Friday"
    )
    records = [
        {"id": "wire-1", "title": "Alder bridge to close", "body": STORY, "source": "Wire"},
        {"id": "local-1", "title": "Bridge shut for repairs", "body": edited, "source": "Echo"},
        {"id": "other", "title": "Bridge club", "body": "The bridge club meets on Tuesdays."},
    ]
    report = archive.ingest([write_jsonl(tmp_path / "bridge.jsonl", records)])
    assert report.new == 3 and report.exact_copies == 0
    assert archive.stats()["near_duplicate_clusters"] == 1
    assert archive.get("local-1")["cluster_id"] == archive.get("wire-1")["cluster_id"] == "wire-1"

    hits = archive.search("old stone bridge closing for repairs", mode="keyword").hits
    ids = [h.article.id for h in hits]
    assert len({"wire-1", "local-1"} & set(ids)) == 1
    best = next(h for h in hits if h.article.id in {"wire-1", "local-1"})
    assert best.also_in == ["Echo" if best.article.id == "wire-1" else "Wire"]
    every = archive.search("old stone bridge closing for repairs", mode="keyword", collapse=False)
    assert {"wire-1", "local-1"} <= {h.article.id for h in every.hits}

    # Removing the cluster's first member keeps the others together under a new name.
    third = [{"id": "late-1", "title": "Bridge closure", "body": edited.replace("1821", "1822")}]
    archive.ingest([write_jsonl(tmp_path / "late.jsonl", third)])
    assert archive.get("late-1")["cluster_id"] == "wire-1"
    archive.remove(["wire-1"])
    assert archive.get("local-1")["cluster_id"] == archive.get("late-1")["cluster_id"] == "local-1"
    hits = archive.search("old stone bridge closing for repairs", mode="keyword").hits
    assert len([h for h in hits if h.article.id in {"local-1", "late-1"}]) == 1


def test_removing_an_exact_copy_or_its_article(archive: Archive):
    archive.ingest([FIXTURES / "wire.rss", FIXTURES / "wire.atom"])
    assert archive.remove(["tag:herald.example,2024:ferries"]) == [
        "tag:herald.example,2024:ferries"
    ]
    assert archive.get("gazette-ferries-2024")["copies"] == []
    report = archive.ingest([FIXTURES / "wire.atom"])
    assert report.exact_copies == 1  # recorded again as a copy, not a second article
    assert archive.remove(["gazette-ferries-2024"]) == ["gazette-ferries-2024"]
    assert archive.stats()["exact_copies"] == 0
    report = archive.ingest([FIXTURES / "wire.atom"])
    assert report.new == 1  # with the original gone, the copy is an article of its own
