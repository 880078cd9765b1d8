"""Part (a) of the matching set computed rarest term first (store/every_word.py) is the same set
as the plain SQL definition (store/explore.py's reference_rows / reference_count): random
queries with phrases, unknown and split words, filters, generation bounds and candidates, over
a small real archive where articles were removed and changed, with every way of answering a
term forced in turn (the cost model picks among them on large archives only)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from newsarchive.archive import Archive
from newsarchive.archive.search.filters import Filters
from newsarchive.archive.search.matching import MatchScope
from newsarchive.archive.store import every_word
from newsarchive.archive.store.explore import reference_count, reference_rows
from newsarchive.index.embedders.hashing import HashEmbedder

# Zipf-like: the first words are in most articles, the last in a few.
WORDS = [
    "grain", "wheat", "export", "tonnes", "harvest", "farmers", "drought", "subsidy",
    "barley", "sorghum", "rye", "millet",
]  # fmt: skip
FILLER = " ".join(f"filler{i}" for i in range(110))  # one passage per paragraph
SOURCES = ["Reuters", "BBC News", "AP"]


def _paragraph(rng: random.Random) -> str:
    chosen = [w for i, w in enumerate(WORDS) if rng.random() < 0.5 / (1 + i * 0.6)]
    if rng.random() < 0.3:
        chosen.append("grain exports")  # stemmed "export": a phrase "grain export" matches it
    return " ".join([*chosen, FILLER, *rng.sample(WORDS, 1)])


def _article(rng: random.Random, n: int, version: int = 0) -> dict:
    paragraphs = [_paragraph(rng) for _ in range(rng.randint(1, 4))]
    return {
        "id": f"a{n}",
        "title": rng.choice(["", "", f"{rng.choice(WORDS)} report {n}"]),
        "body": "\n\n".join(paragraphs) + f" unique{n}v{version}",
        "date": f"1987-0{rng.randint(3, 9)}-{rng.randint(10, 28)}",
        "source": rng.choice(SOURCES),
        "metadata": {"topics": rng.choice(["grain", "oil"])},
    }


@pytest.fixture(scope="module")
def lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, list[int]]]:
    """An archive built over four generations: new articles, some removed, some changed (so
    new passage ids), more added; with the generations seen."""
    rng = random.Random(7)
    with Archive(tmp_path_factory.mktemp("every") / "data", embedder=HashEmbedder()) as archive:
        generations = [archive.store.generation()]
        archive.ingest_articles([_article(rng, n) for n in range(60)])
        generations.append(archive.store.generation())
        archive.remove([f"a{n}" for n in range(0, 60, 7)])
        generations.append(archive.store.generation())
        archive.ingest_articles([_article(rng, n, version=1) for n in range(3, 60, 5)])
        archive.ingest_articles([_article(rng, n) for n in range(60, 90)])
        generations.append(archive.store.generation())
        yield archive, generations


def _query(rng: random.Random) -> str:
    words = rng.sample(WORDS, rng.randint(1, 4))
    extra = rng.choice(["", "", "", '"grain export"', '"wheat grain"', "unknownword", "the"])
    if rng.random() < 0.15:
        words = [rng.choice(["filler3", "unique5v0", "unique8v1", "report"])] + words[:1]
    if rng.random() < 0.05:
        return rng.choice(["the of", "!!!", '"harvest"'])
    return " ".join([*words, extra]).strip()


def _scope(rng: random.Random, ids: list[str], generations: list[int]) -> MatchScope:
    filters = rng.choice(
        [
            Filters(),
            Filters(),
            Filters(since="1987-05-01"),
            Filters(sources=[rng.choice(SOURCES)]),
            Filters(since="1987-04-01", until="1987-07-31", where={"topics": ["grain"]}),
        ]
    )
    candidates = tuple(rng.sample(ids, rng.choice([0, 0, 3, 15])))
    after = rng.choice([None, None, generations[1], generations[2]])
    until = rng.choice([None, None, generations[2], generations[3]])
    return MatchScope(_query(rng), filters, candidates, after, until)


MODES = {  # each forces one way of answering a term after the rarest
    "cost model": {},
    "fetch owners": {"owner": 0.0},
    "fetch ids": {"rowid": 0.0, "span": 0.0, "owner": 1e9},
    "seek": {"seek": 0.0, "span": 0.0},
}


@pytest.mark.parametrize(
    ("mode", "mapped"),
    [*((mode, False) for mode in MODES), ("all common", False)]
    + [("cost model", True), ("fetch owners", True)],
)
def test_the_set_and_its_count_equal_the_plain_sql(lived, mode, mapped, monkeypatch):
    """`mapped`: the passage map, caught up, maps matches to articles instead of SQL."""
    archive, generations = lived
    monkeypatch.setattr(every_word, "COSTS_US", {**every_word.COSTS_US, **MODES.get(mode, {})})
    if mode == "all common":  # every term intersected in SQL
        monkeypatch.setattr(every_word, "COMMON", 0)
    asked: list[bool] = []
    if mapped:
        archive.passage_map.current()
        owners_at = archive.explore.owners_at

        def spy(lineage, ids):
            found = owners_at(lineage, ids)
            asked.append(found is not None)
            return found

        monkeypatch.setattr(archive.explore, "owners_at", spy)
    else:
        monkeypatch.setattr(archive.explore, "owners_at", None)
    with archive.store.reading() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM articles ORDER BY id")]
    rng = random.Random(mode)
    nonempty = 0
    for _ in range(150):
        scope = _scope(rng, ids, generations)
        with archive.store.reading() as conn:
            expected_total = reference_count(conn, scope)
            select, params = reference_rows(scope, "a.id")
            expected = {r[0] for r in conn.execute(select, params)}
        assert archive.explore.count(scope) == expected_total, scope
        with archive.explore.open(scope) as view:
            found = {r[0] for r in view.conn.execute("SELECT id FROM temp.explore_match")}
            assert view.total == len(expected) == expected_total, scope
        assert found == expected, scope
        nonempty += bool(expected - set(scope.candidates))
    assert nonempty > 20  # the queries are not all empty by words
    assert all(asked) and len(asked) > 50 if mapped else not asked


def test_a_map_behind_the_snapshot_is_not_used(lived):
    archive, _ = lived
    passage_map = archive.passage_map.current()
    lineage = archive.store.lineage()
    with archive.store.reading() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM passages WHERE article_id = 'a1'")]
    assert passage_map.owners_at(lineage, ids) == {"a1"}
    behind = (lineage[0], lineage[1] - 1, lineage[2])
    assert passage_map.owners_at(behind, ids) is None
    assert passage_map.owners_at(lineage, [10**9]) is None  # not a passage: SQL decides


def test_a_busy_map_is_not_waited_for(lived):
    """`owners_at` runs while its caller holds a read connection; a map held by a catch-up
    (which may be waiting for a read connection) answers None instead of blocking."""
    import threading

    archive, _ = lived
    passage_map = archive.passage_map.current()
    lineage = archive.store.lineage()
    ids = (passage_map.article_of >= 0).nonzero()[0][:3]
    held, release = threading.Event(), threading.Event()

    def catch_up() -> None:
        with passage_map.lock:
            held.set()
            release.wait(5)

    thread = threading.Thread(target=catch_up)
    thread.start()
    held.wait(5)
    try:
        assert passage_map.owners_at(lineage, ids) is None
    finally:
        release.set()
        thread.join()
    assert passage_map.owners_at(lineage, ids)


def test_words_split_across_passages_and_headline_words_count(lived):
    archive, _ = lived
    article = archive.get("a1")
    passages = [p["text"] for p in article["passages"]]
    assert len(passages) > 1
    in_first = {w for w in WORDS if w in passages[0].split()}
    in_last = {w for w in WORDS if w in passages[-1].split()} - in_first
    assert in_first and in_last
    query = f"{min(in_first)} {min(in_last)} unique1v0"
    scope = MatchScope(query, Filters())
    with archive.store.reading() as conn:
        assert every_word.articles_with_every_term(conn, ['"unique1v0"']) == (
            every_word.OWNERS,
            ['"unique1v0"'],
        )
        assert reference_count(conn, scope) == 1
    assert archive.explore.count(scope) == 1


def test_rarest_terms_come_first_and_an_unknown_word_ends_it(lived):
    archive, _ = lived
    with archive.store.reading() as conn:
        ordered = every_word.rarest_first(conn, ['"grain"', '"millet"', '"unknownword"'])
        assert [t for t, *_ in ordered][0] == '"unknownword"'
        assert every_word.articles_with_every_term(conn, ['"grain"', '"unknownword"']) == (
            every_word.NONE,
            [],
        )
        counts = {t: n for t, n, _ in ordered}
        assert counts['"millet"'] < counts['"grain"']


def test_part_a_found_ahead_counts_the_same_and_a_stale_one_is_found_again(tmp_path):
    """search() finds part (a) beside its retrievals (`every_word`) and hands it to `count`:
    the same total as finding it inside the count; after a write it is not reused."""
    rng = random.Random(3)
    with Archive(tmp_path / "data", embedder=HashEmbedder()) as archive:
        archive.ingest_articles([_article(rng, n) for n in range(30)])
        for query in ["grain wheat", "millet", '"grain export" harvest', "unique4v0 grain"]:
            for filters in [Filters(), Filters(sources=["bbc news"])]:
                scope = MatchScope(query, filters, ("a1", "a2"))
                early = archive.explore.every_word(query)
                assert archive.explore.count(scope, early) == archive.explore.count(scope)
        early = archive.explore.every_word("unique31v0")
        assert archive.explore.count(MatchScope("unique31v0", Filters()), early) == 0
        archive.ingest_articles([_article(rng, 31)])  # the archive moved on: found again
        assert archive.explore.count(MatchScope("unique31v0", Filters()), early) == 1
        other = archive.explore.every_word("millet")  # another query's: not used
        assert archive.explore.count(MatchScope("unique31v0", Filters()), other) == 1
        response = archive.search("unique31v0", mode="keyword")
        assert response.total == 1
