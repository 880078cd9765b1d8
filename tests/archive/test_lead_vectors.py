"""The lead vectors the default hybrid ranking reads from memory (index/passage_map.py's
`lead_cosines`, through archive/views.py's `LeadSearch.lookup`) answer exactly as the store's
SQLite lookup (store/leads.py's `LeadIndex.lookup`) after every kind of write: ingest, edit,
removal, `reindex` filling leads, re-embedding, and writes by another process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from newsarchive.archive import Archive

from conftest import NEWS, SEED, SEED_ID, write_jsonl

QUERIES = ("wheat exports", "oil prices in Iraq", "football")


def ids(archive: Archive) -> list[str]:
    return [a["id"] for a in NEWS] + [SEED_ID, "no-such-article"]


def assert_same(archive: Archive) -> None:
    """In memory == SQLite, ids and scores, for a few queries; and it came from memory."""
    for query in QUERIES:
        vector = archive.embedder.encode_query(query)
        memory = archive.lead_search.lookup(vector, ids(archive))
        assert archive.passage_map.leads_loaded
        assert memory == archive.leads.lookup(vector, ids(archive))
        # by article code (what search reads): the map's arrays == the store's lookup
        passages = archive.store.passage_ids()
        owners = archive.catalog.owners(passages)
        cosines, first = archive.lead_search.for_owners(vector, owners)
        their_cosines, their_first = archive.leads.for_owners(vector, owners)
        assert first.tolist() == their_first.tolist()
        assert (cosines is None) == (their_cosines is None)
        if cosines is not None:
            assert cosines.tolist() == their_cosines.tolist()


@pytest.fixture
def loaded(archive: Archive, news_file: Path) -> Archive:
    archive.ingest([SEED, news_file])
    return archive


def test_leads_in_memory_equal_the_store_after_ingest_edit_and_removal(
    loaded: Archive, tmp_path: Path
):
    assert_same(loaded)
    cosines, first = loaded.lead_search.lookup(loaded.embedder.encode_query("x"), ids(loaded))
    assert set(cosines) == set(first) == {a["id"] for a in NEWS} | {SEED_ID}
    edited = {**NEWS[0], "body": "Barley shipments to Japan fell in April, traders said."}
    added = {**NEWS[1], "id": "oil-2", "body": "Crude oil output in Iraq doubled this year."}
    loaded.ingest([write_jsonl(tmp_path / "edit.jsonl", [edited, added])])
    assert_same(loaded)
    vector = loaded.embedder.encode_query("Barley shipments to Japan")
    cosines, first = loaded.lead_search.lookup(vector, ["wheat-1", "oil-2"])
    assert first["wheat-1"] == loaded.get("wheat-1")["passages"][0]["id"]  # the new passage
    assert set(cosines) == {"wheat-1", "oil-2"}
    loaded.remove(["wheat-1"])
    assert_same(loaded)
    cosines, first = loaded.lead_search.lookup(vector, ["wheat-1", "oil-2"])
    assert "wheat-1" not in cosines and "wheat-1" not in first


def test_leads_filled_by_reindex_and_reembedded_reach_memory(loaded: Archive):
    with loaded.store.write() as conn:
        conn.execute("DELETE FROM article_leads")  # as an archive migrated to m008 has none
    assert_same(loaded)
    assert loaded.lead_search.lookup(loaded.embedder.encode_query("x"), ids(loaded))[0] == {}
    assert loaded.reindex()["leads_added"] == len(NEWS) + 1
    assert_same(loaded)
    vector = loaded.embedder.encode_query("wheat")
    assert set(loaded.lead_search.lookup(vector, ids(loaded))[0]) == {a["id"] for a in NEWS} | {
        SEED_ID
    }
    # re-embedding rewrites the vectors in place (no new passages): memory follows
    articles = ["wheat-1", "oil-1"]
    loaded.leads.set_vectors(articles, np.zeros((2, loaded.embedder.dimension), np.float32))
    assert loaded.lead_search.lookup(vector, articles)[0] == {"wheat-1": 0.0, "oil-1": 0.0}
    assert_same(loaded)
    loaded.reindex(reembed=True)
    assert loaded.lead_search.lookup(vector, ["wheat-1"])[0]["wheat-1"] != 0.0
    assert_same(loaded)


def test_a_stale_map_never_serves_an_old_lead(loaded: Archive, tmp_path: Path):
    """Another process edits, re-embeds and removes: the next lookup here follows."""
    assert_same(loaded)
    vector = loaded.embedder.encode_query("Barley shipments to Japan")
    before = loaded.lead_search.lookup(vector, ["wheat-1"])
    edited = {**NEWS[0], "body": "Barley shipments to Japan fell in April, traders said."}
    with Archive(loaded.path, embedder=loaded.embedder) as other:
        other.ingest([write_jsonl(tmp_path / "edit.jsonl", [edited])])
    after = loaded.lead_search.lookup(vector, ["wheat-1"])
    assert after != before and after[0]["wheat-1"] > before[0]["wheat-1"]
    assert_same(loaded)
    with Archive(loaded.path, embedder=loaded.embedder) as other:
        other.leads.set_vectors(["wheat-1"], np.zeros((1, other.embedder.dimension), np.float32))
    assert loaded.lead_search.lookup(vector, ["wheat-1"])[0] == {"wheat-1": 0.0}
    with Archive(loaded.path, embedder=loaded.embedder) as other:
        other.remove(["wheat-1"])
    assert loaded.lead_search.lookup(vector, ["wheat-1"]) == ({}, {})
    assert_same(loaded)


def test_leads_of_another_size_are_read_from_the_store(loaded: Archive):
    """Half-way through a move to another model the leads differ in size: SQL answers."""
    assert_same(loaded)
    loaded.leads.set_vectors(["wheat-1"], np.ones((1, 8), np.float32))
    vector = loaded.embedder.encode_query("wheat")
    assert loaded.passage_map.current().lead_cosines(vector, ["wheat-1"]) is None
    cosines, first = loaded.lead_search.lookup(vector, ["wheat-1", "oil-1"])
    assert set(first) == {"wheat-1", "oil-1"} and set(cosines) == {"oil-1"}


def test_codes_read_at_an_older_state_are_looked_up_by_article_id(loaded: Archive, tmp_path: Path):
    """Article codes carry the map state they were read at: once the map has moved on (the
    map may have renumbered its articles), the leads are read by article id instead."""
    vector = loaded.embedder.encode_query("Barley shipments to Japan")
    owners = loaded.catalog.owners(loaded.store.passage_ids())
    edited = {**NEWS[0], "body": "Barley shipments to Japan fell in April, traders said."}
    loaded.ingest([write_jsonl(tmp_path / "edit.jsonl", [edited])])
    loaded.passage_map.current()
    assert loaded.passage_map.lead_arrays(vector, owners.ordinals, owners.at) is None
    cosines, first = loaded.lead_search.for_owners(vector, owners)
    their_cosines, their_first = loaded.leads.for_owners(vector, owners)
    assert cosines is not None and their_cosines is not None
    assert cosines.tolist() == their_cosines.tolist() and first.tolist() == their_first.tolist()
    wheat = owners.articles.index("wheat-1")
    assert first[wheat] == loaded.get("wheat-1")["passages"][0]["id"]  # today's, not the old
