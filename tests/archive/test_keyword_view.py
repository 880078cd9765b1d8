"""The tantivy keyword index of an archive folder (index/keywords/view.py) kept in step with a
real archive through archive/store/derived.py: switched on by size, caught up after adds,
removals, edits and metadata-only changes (also by other processes), never half-written, and
rebuilt aside. Scores differ from a fresh build until tantivy merges away deleted passages
(its statistics count them), so these tests compare which passages match and the top ids."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from newsarchive.archive import Archive
from newsarchive.archive.search.filters import Filters
from newsarchive.archive.store.derived import DerivedSource
from newsarchive.archive.views import date_bounds
from newsarchive.index.keywords import KEYWORD_THRESHOLD, KeywordFilter, KeywordView
from newsarchive.index.keywords import view as view_module
from newsarchive.index.vectors import AUTO_THRESHOLD

from conftest import NEWS, SEED

ROOT = Path(__file__).resolve().parents[2]
TOPICS = ["grain", "crude", "trade", "rates"]
WORDS = (
    "wheat exports china oil crude opec prices rose fell bank rates talks troops iraq "
    "minister election goal derby striker league shares profit quarter growth"
).split()


def stories(n: int, start: int = 0) -> list[dict]:
    rng = np.random.default_rng(start + 11)
    out = []
    for i in range(start, start + n):
        words = rng.choice(WORDS, size=int(rng.integers(8, 30)))
        out.append(
            {
                "id": f"story-{i}",
                "body": " ".join(words).capitalize() + ".\n\n" + " ".join(words[::-1]) + ".",
                "date": f"198{i % 10}-0{1 + i % 9}-1{i % 10}",
                "source": ["Reuters", "BBC", "AP"][i % 3],
                "topics": [TOPICS[i % 4], TOPICS[(i + 1) % 4]] if i % 5 else TOPICS[i % 4],
            }
        )
    return out


QUERIES = ["wheat exports China", "OPEC crude oil", "late goal derby", "US troops Iraq", "rates"]
FILTERS = [
    {},
    {"since": "1983-01-01", "until": "1986-12-31"},
    {"sources": ["bbc"]},
    {"where": {"topics": ["grain"]}},
    {"where": {"category": ["sport", "tech"]}},
    {"where": {"source": ["Reuters"]}, "since": "1984-03-01"},
]


def keyword_filter(flt: dict) -> KeywordFilter:
    return KeywordFilter(
        since=date_bounds(flt.get("since"), flt.get("until"))[0],
        until=date_bounds(flt.get("since"), flt.get("until"))[1],
        sources=flt.get("sources", []),
        where=flt.get("where", {}),
    )


def view_of(archive: Archive, threshold: int = 1, folder: str = "kw") -> KeywordView:
    """A view of its own (not the folder an Archive may keep itself), switched on early."""
    return KeywordView(archive.path / folder, DerivedSource(archive.store), threshold=threshold)


def fts5(archive: Archive, query: str, flt: dict, k: int = 1000) -> list[tuple[int, float]]:
    return archive.keyword(query, Filters(**flt), k)


def matched(view: KeywordView, query: str, flt: dict, k: int = 1000) -> list[int]:
    found = view.search(query, keyword_filter(flt), k)
    assert found is not None, (query, flt)
    return [p for p, _ in found]


def agree_with_fts5(archive: Archive, view: KeywordView) -> None:
    """The same passages match as with FTS5, for every query and filter."""
    for query in QUERIES:
        for flt in FILTERS:
            expected = {p for p, _ in fts5(archive, query, flt)}
            assert set(matched(view, query, flt)) == expected, (query, flt)


@pytest.fixture
def loaded(archive: Archive) -> Archive:
    archive.ingest_articles([dict(n) for n in NEWS] + stories(40))
    archive.ingest([SEED])
    return archive


def test_the_switch_is_at_the_vector_index_threshold_and_sticks(archive: Archive):
    assert KEYWORD_THRESHOLD == AUTO_THRESHOLD
    archive.ingest_articles([dict(n) for n in NEWS])
    count = archive.stats()["passages"]
    view = view_of(archive, threshold=count + 3)
    assert view.ensure() is False and view.search("wheat", None, 10) is None
    assert not view.active and view.stats() == {"keyword_index": "fts5", "keyword_index_bytes": 0}
    archive.ingest([SEED])  # past the threshold now
    assert view.ensure() is True and view.active
    assert view.stats()["keyword_index"] == "tantivy" and view.stats()["keyword_index_bytes"] > 0
    archive.remove([SEED.stem, "oil-1"])  # below it again: the index stays
    assert view.ensure() is True
    assert matched(view, "wheat exports", {}) == [p for p, _ in fts5(archive, "wheat exports", {})]


def test_matches_what_fts5_matches_with_filters_and_phrases(loaded: Archive):
    view = view_of(loaded)
    assert view.ensure()
    agree_with_fts5(loaded, view)
    overlaps = []
    for query in QUERIES:
        top = {p for p, _ in fts5(loaded, query, {}, 10)}
        overlaps.append(len(top & set(matched(view, query, {}, 10))) / len(top))
    assert np.mean(overlaps) >= 0.8, overlaps
    phrase = matched(view, '"late goal"', {})
    assert phrase == [p for p, _ in fts5(loaded, '"late goal"', {})] and len(phrase) == 1
    assert view.search("wheat", keyword_filter({"where": {"title": ["x"]}}), 5) is None


def test_follows_adds_removals_edits_and_metadata_only_changes(loaded: Archive):
    view = view_of(loaded)
    view.ensure()
    loaded.ingest_articles(stories(10, start=40))  # new articles
    loaded.remove(["story-3", "story-4", "football-1"])  # removals
    edited = {**NEWS[0], "body": NEWS[0]["body"] + "\n\nPrices of wheat rose again."}
    retagged = {**NEWS[1], "topics": ["grain", "rates"], "source": "AP", "date": "1985-05-05"}
    loaded.ingest_articles([edited, retagged])  # an edited text; a metadata-only change
    assert loaded.store.conn.execute("SELECT COUNT(*) FROM article_changes").fetchone()[0] > 0
    changes = view.catch_up()
    assert changes["removed"] and changes["added"]
    agree_with_fts5(loaded, view)
    oil = {p["id"] for p in loaded.get("oil-1")["passages"]}
    for flt, inside in [
        ({"where": {"topics": ["rates"]}}, True),
        ({"where": {"topics": ["crude"]}}, False),
        ({"sources": ["ap"], "since": "1985-05-05", "until": "1985-05-05"}, True),
        ({"sources": ["reuters"]}, False),
    ]:
        found = set(matched(view, "OPEC", flt))
        assert found == {p for p, _ in fts5(loaded, "OPEC", flt)}
        assert (oil <= found) if inside else not (oil & found), flt

    fresh = view_of(loaded, folder="fresh")
    fresh.rebuild()
    for query in QUERIES:
        for flt in FILTERS:
            assert set(matched(view, query, flt)) == set(matched(fresh, query, flt))
            top, again = matched(view, query, flt, 10), matched(fresh, query, flt, 10)
            assert len(set(top) & set(again)) >= 0.8 * len(again)  # scores drift until merges
    assert len(view.current()) == loaded.stats()["passages"]


def test_catches_up_after_another_process_wrote(loaded: Archive, hash_embedder):
    view = view_of(loaded)
    view.ensure()
    before = json.loads((view.folder / view._current_name() / "stamp.json").read_text())
    script = (
        "import sys; from pathlib import Path\n"
        "from newsarchive.archive import Archive\n"
        "from newsarchive.archive.store.derived import DerivedSource\n"
        "from newsarchive.index.embedders.hashing import HashEmbedder\n"
        "from newsarchive.index.keywords import KeywordView\n"
        "archive = Archive(Path(sys.argv[1]), embedder=HashEmbedder())\n"
        "archive.ingest_articles([{'id': 'late-1', 'body': 'Zanzibar cloves fetched record prices "
        "at the spring auction.', 'source': 'AP', 'date': '1988-01-01'}])\n"
        "archive.remove(['wheat-1'])\n"
        "if sys.argv[2] == 'index':\n"
        "    KeywordView(Path(sys.argv[1]) / 'kw', DerivedSource(archive.store)).catch_up()\n"
        "archive.close()\n"
    )
    for mode in ("database", "index"):  # only the database written; the index caught up too
        subprocess.run([sys.executable, "-c", script, str(loaded.path), mode], check=True)
        assert set(matched(view, "Zanzibar cloves", {})) == {
            p for p, _ in fts5(loaded, "Zanzibar cloves", {})
        }
        assert matched(view, "wheat exports", {"where": {"topics": ["wheat"]}}) == []
        agree_with_fts5(loaded, view)
    after = json.loads((view.folder / view._current_name() / "stamp.json").read_text())
    assert after["generation"] == loaded.store.generation() > before["generation"]


def test_a_crash_between_commit_and_stamp_is_repaired(loaded: Archive, monkeypatch):
    view = view_of(loaded)
    view.ensure()
    loaded.ingest_articles(stories(5, start=100))
    loaded.remove(["story-1"])

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(view, "_write_stamp", crash)
    assert view.search("wheat", None, 10) is None and "disk full" in view.error  # FTS5 answers
    monkeypatch.undo()
    again = view_of(loaded)  # the next process: the stamp is older than the commit
    agree_with_fts5(loaded, again)
    index = again.current()
    assert len(index) == loaded.stats()["passages"]  # re-applied adds left no duplicates
    assert index.ids() == loaded.store.passage_ids().tolist()


def test_a_process_killed_while_writing_leaves_a_loadable_index(loaded: Archive):
    view = view_of(loaded)
    view.ensure()
    script = (
        "import os, sys; from pathlib import Path\n"
        "from newsarchive.archive import Archive\n"
        "from newsarchive.archive.store.derived import DerivedSource\n"
        "from newsarchive.index.embedders.hashing import HashEmbedder\n"
        "from newsarchive.index.keywords import KeywordView, tantivy_index\n"
        "archive = Archive(Path(sys.argv[1]), embedder=HashEmbedder())\n"
        "archive.ingest_articles([{'id': f'x-{i}', 'body': f'Walrus number {i} swam north.'} "
        "for i in range(30)])\n"
        "real = tantivy_index.TantivyIndex.document\n"
        "def dying(self, row, terms, seen=[]):\n"
        "    seen.append(row)\n"
        "    if len(seen) == 20:\n"
        "        os._exit(9)  # killed with documents added and not committed\n"
        "    return real(self, row, terms)\n"
        "tantivy_index.TantivyIndex.document = dying\n"
        "KeywordView(Path(sys.argv[1]) / 'kw', DerivedSource(archive.store)).catch_up()\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(loaded.path)])
    assert done.returncode == 9
    again = view_of(loaded)
    assert set(matched(again, "walrus", {})) == {p for p, _ in fts5(loaded, "walrus", {})}
    agree_with_fts5(loaded, again)


def test_a_crashed_rebuild_leaves_the_old_index_in_use(loaded: Archive, monkeypatch):
    view = view_of(loaded)
    view.ensure()
    first = view._current_name()
    real = view_module._fsync_write

    def crash_at_swap(path: Path, text: str) -> None:
        if path.name == "CURRENT":
            raise OSError("killed")
        real(path, text)

    monkeypatch.setattr(view_module, "_fsync_write", crash_at_swap)
    with pytest.raises(OSError):
        view.rebuild()
    monkeypatch.undo()
    assert view._current_name() == first
    assert len(list(view.folder.glob("index-*"))) == 2  # the unfinished build, named by nothing
    agree_with_fts5(loaded, view_of(loaded))
    view.rebuild()  # the next build clears it, and the swap removes the old index
    assert [p.name for p in view.folder.glob("index-*")] == [view._current_name()] != [first]
    agree_with_fts5(loaded, view)


def test_an_unreadable_index_falls_back_to_fts5_until_rebuilt(loaded: Archive):
    view = view_of(loaded)
    view.ensure()
    (view.folder / view._current_name() / "stamp.json").write_text("{not json")
    fresh = view_of(loaded)
    assert fresh.search("wheat", None, 10) is None  # FTS5 answers
    assert fresh.ensure() is True  # a build replaces it
    agree_with_fts5(loaded, fresh)
    (fresh.folder / fresh._current_name() / "meta.json").unlink()  # tantivy's own files
    broken = view_of(loaded)
    assert broken.search("wheat", None, 10) is None and broken.error
    assert broken.ensure() is True
    agree_with_fts5(loaded, broken)


def test_many_deletions_are_dropped_by_a_rebuild(loaded: Archive):
    """tantivy counts deleted passages in BM25's statistics until a merge; past a quarter of
    the index, `ensure` builds it anew."""
    view = view_of(loaded)
    view.ensure()
    first = view._current_name()
    loaded.remove([f"story-{i}" for i in range(5)])
    assert view.ensure() and view._current_name() == first  # a few: kept
    assert view._stamp["deleted"] > 0
    loaded.remove([f"story-{i}" for i in range(5, 25)])
    assert view.ensure() and view._current_name() != first
    assert view._stamp["deleted"] == 0 and view._stamp["passages"] == loaded.stats()["passages"]
    agree_with_fts5(loaded, view)


def test_an_index_of_another_history_is_not_used_until_rebuilt(
    loaded: Archive, tmp_path: Path, hash_embedder
):
    """An index stamped with another archive's lineage (or a history a restored backup
    undid) never answers: FTS5 does, until the next write builds it anew."""
    view = view_of(loaded)
    view.ensure()
    with Archive(tmp_path / "other", embedder=hash_embedder) as other:
        other.ingest_articles(stories(8, start=200))
        wrong = KeywordView(view.folder, DerivedSource(other.store), threshold=1)
        assert wrong.search("wheat", None, 10) is None and "another archive" in wrong.error
        assert wrong.ensure() is True
        assert set(matched(wrong, "wheat rates", {})) == {
            p for p, _ in fts5(other, "wheat rates", {})
        }
