"""The passage map (index/passage_map.py) kept in step with a real archive: grouping and
collapsing on arrays give what the store's SQL gives, after removals, new copies and a cluster
renamed when its first member leaves."""

from __future__ import annotations

import threading
import time

import numpy as np

from newsarchive.archive import Archive
from newsarchive.archive.search.collapse import collapse, group_by_article
from newsarchive.archive.store.derived import DerivedSource
from newsarchive.index.passage_map import PassageMap

from conftest import NEWS, SEED

STORY = " ".join(
    f"Grain traders in city {i} reported that wheat shipments grew by {i} percent this week."
    for i in range(12)
)
FIRST = {"id": "wheat-a", "body": STORY, "date": "1987-03-02", "source": "Reuters"}
NEAR = {"id": "wheat-b", "body": STORY + " Buyers were pleased.", "source": "AP"}


def sql_answers(archive: Archive, ranked: list[tuple[int, float]]):
    article_of = archive.store.article_ids([p for p, _ in ranked])
    grouped, others = group_by_article(ranked, article_of)
    clusters = archive.store.clusters_of([article_of[p] for p, _ in grouped])
    return article_of, grouped, others, collapse(grouped, article_of, clusters)


def assert_same_as_sql(archive: Archive, pmap: PassageMap) -> None:
    ids = archive.store.passage_ids()
    ranked = [(int(p), 1.0 / (i + 1)) for i, p in enumerate(ids[::-1])] + [(10**6, 0.0)]
    article_of, grouped, others, collapsed = sql_answers(archive, ranked)
    pmap.current()
    assert pmap.article_ids_of([p for p, _ in ranked]) == article_of
    mapped = pmap.article_ids_of([p for p, _ in ranked])
    assert group_by_article(ranked, mapped) == (grouped, others)
    clusters = pmap.clusters_of([mapped[p] for p, _ in grouped])
    assert collapse(grouped, mapped, clusters) == collapsed
    # the same on arrays
    order = np.array([p for p, _ in ranked], dtype=np.int64)
    best, articles, lead = pmap.group(order)
    assert [ranked[i] for i in best] == grouped
    assert [ranked[i] for i in best[pmap.collapse(articles[best])]] == collapsed
    for i in best:
        followers = [int(order[j]) for j in np.flatnonzero(lead == i) if j != i]
        assert followers == others[ranked[i][0]]
    # the articles as codes (search/owners.py): the map's equal the store's SQL, passage by
    # passage and cluster by cluster
    mine, theirs = archive.catalog.owners(order), archive.store.owners(order)
    for owners in (mine, theirs):
        assert [owners.articles[c] if c >= 0 else None for c in owners.codes] == [
            article_of.get(int(p)) for p in order
        ]
        assert [owners.codes_of(order)[i] for i in range(len(order))] == owners.codes.tolist()
    assert mine.articles == theirs.articles  # both in first-seen order
    assert _partition(mine.clusters) == _partition(theirs.clusters)
    assert mine.ordinals is not None and theirs.ordinals is None
    # each passage's position in its article, as stored (-1 for an id the archive lacks)
    with archive.store.reading() as conn:
        stored = dict(conn.execute("SELECT id, position FROM passages").fetchall())
    assert pmap.positions(order).tolist() == [stored.get(int(p), -1) for p in order]


def _partition(codes: np.ndarray) -> list[list[int]]:
    """Which positions share a code (codes themselves are arbitrary)."""
    groups: dict[int, list[int]] = {}
    for i, code in enumerate(codes.tolist()):
        groups.setdefault(code, []).append(i)
    return sorted(groups.values())


def test_grouping_and_collapsing_follow_the_archive(archive: Archive):
    archive.ingest_articles([dict(n) for n in NEWS] + [FIRST, NEAR])
    archive.ingest([SEED])
    pmap = PassageMap(DerivedSource(archive.store))
    assert_same_as_sql(archive, pmap)
    clusters = archive.store.clusters_of(["wheat-a", "wheat-b"])
    assert clusters["wheat-b"] == clusters["wheat-a"] == "wheat-a"

    archive.remove(["wheat-a", "oil-1"])  # the cluster is renamed after its next member
    archive.ingest_articles([{**NEAR, "id": "wheat-c", "body": STORY + " Sellers were not."}])
    archive.ingest_articles([{**NEWS[0], "topics": ["changed"]}])  # metadata only
    generation = pmap.generation
    assert pmap.current().generation == archive.store.generation() > generation
    assert archive.store.clusters_of(["wheat-b"])["wheat-b"] == "wheat-b"
    assert pmap.clusters_of(["wheat-b", "wheat-c"]) == {"wheat-b": "wheat-b", "wheat-c": "wheat-b"}
    assert_same_as_sql(archive, pmap)


def test_a_map_older_than_the_pruned_tombstones_compares_ids(archive: Archive):
    archive.ingest_articles([dict(n) for n in NEWS])
    pmap = PassageMap(DerivedSource(archive.store)).current()
    gone = [p["id"] for p in archive.get("oil-1")["passages"]]
    archive.remove(["oil-1"])
    archive.store.prune_tombstones(archive.store.generation())  # the FAISS file holds them
    assert archive.store.tombstones_pruned_through() > pmap.generation
    assert (pmap.current().articles(gone) == -1).all()
    assert_same_as_sql(archive, pmap)


DATE_AND_SOURCE_FILTERS = [
    {"since": "1987-01-01"},
    {"until": "1987-06-27"},
    {"since": "1987-03-02", "until": "1987-03-02"},
    {"sources": ["reuters"]},
    {"sources": ["BBC", "nobody"], "since": "2004-01-01"},
]


def assert_filters_as_sql(archive: Archive, pmap: PassageMap) -> None:
    from newsarchive.archive.search.filters import Filters
    from newsarchive.archive.views import date_bounds

    pmap.current()
    for flt in DATE_AND_SOURCE_FILTERS:
        found = pmap.allowed_ids(
            date_bounds(flt.get("since"), flt.get("until"))[0],
            date_bounds(flt.get("since"), flt.get("until"))[1],
            flt.get("sources", []),
        )
        expected = np.sort(archive.store.allowed_passages(Filters(**flt)))
        assert found.tolist() == expected.tolist(), flt


def test_date_and_source_filters_give_the_passages_sql_gives(archive: Archive):
    archive.ingest_articles([dict(n) for n in NEWS] + [FIRST, NEAR])
    pmap = PassageMap(DerivedSource(archive.store))
    assert_filters_as_sql(archive, pmap)
    archive.ingest_articles([{**NEWS[2], "date": "1987-03-02", "source": "REUTERS"}])  # fields only
    archive.remove(["wheat-1"])
    assert_filters_as_sql(archive, pmap)
    with archive.store.write() as conn:  # a date from before dates were normalised
        conn.execute("UPDATE articles SET date = '26-FEB-1987' WHERE id = 'oil-1'")
    assert pmap.current().allowed_ids("1987-01-01T00:00:00Z", None, []) is None
    assert pmap.allowed_ids(None, None, ["reuters"]) is not None  # sources still answered


def test_a_rebuild_keeps_the_lock_threads_are_waiting_on(archive: Archive):
    """A catch-up that rebuilds the map (a database of another history) once replaced the
    map's lock: a thread waiting on the old one then ran beside the rebuild and failed to
    release (seen as `RuntimeError: cannot release un-acquired lock` in `owners_at`)."""
    archive.ingest_articles([dict(n) for n in NEWS])
    pmap = PassageMap(DerivedSource(archive.store)).current()
    lineage, lock = pmap.lineage, pmap.lock
    ids = np.flatnonzero(pmap.article_of >= 0)
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            pmap.owners_at(lineage, ids)
        except BaseException as error:  # noqa: BLE001 (reported by the test)
            errors.append(error)

    with pmap.lock:
        waiting = threading.Thread(target=ask)
        waiting.start()
        time.sleep(0.01)  # it waits on the lock (up to OWNERS_WAIT)
        assert pmap.catch_up(("another-archive", 1, "token")) == {"rebuilt": 1}
    waiting.join(5)
    assert pmap.lock is lock and errors == []
    assert pmap.catch_up(archive.store.lineage()) == {"rebuilt": 1}  # and back to this one
    assert pmap.owners_at(archive.store.lineage(), ids) == {a["id"] for a in NEWS}
