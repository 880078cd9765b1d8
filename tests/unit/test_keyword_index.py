"""The tantivy keyword index on its own (index/keywords/): FTS5's terms, filters applied before
ranking, quoted phrases, ties by id, and rankings close to FTS5's BM25 on the same passages."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from newsarchive.archive.search.terms import STOPWORDS as SEARCH_STOPWORDS
from newsarchive.archive.store.fts import fts_terms
from newsarchive.index.keywords import KeywordFilter, KeywordRow, UnsupportedFilter, date_key
from newsarchive.index.keywords.analysis import STOPWORDS, TOKENIZE, Analyzer, parse_query
from newsarchive.index.keywords.tantivy_index import TantivyIndex

WORDS = (
    "oil wheat grain price prices market markets minister ministers election talks troops "
    "iraq china exports export trade bank banks rate rates growth economy technology "
    "assembly football goal derby striker club league new york prime government strike "
    "workers union shares stock profit profits loss quarter year years company companies "
    "café naïve resumé the of and to in a is that for on with"
).split()
SOURCES = ["Reuters", "BBC News", "AP", None]


def corpus(n: int, seed: int = 7) -> list[KeywordRow]:
    """Zipf-distributed words, so some terms are in most passages and pruning matters."""
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, len(WORDS) + 1) ** 0.9
    weights /= weights.sum()
    rows = []
    for i in range(n):
        words = rng.choice(WORDS, size=int(rng.integers(3, 40)), p=weights)
        month = int(rng.integers(1, 13))
        rows.append(
            KeywordRow(
                passage_id=10 + 3 * i,  # ids with gaps, as after edits
                text=" ".join(words).capitalize() + ".",
                date=None if i % 11 == 0 else f"2004-{month:02d}-{1 + i % 28:02d}T12:00:00Z",
                source=SOURCES[i % 4],
                metadata={"topics": [f"t{i % 5}", f"u{i % 3}"]} if i % 7 else {},
            )
        )
    return rows


ROWS = corpus(1500)
QUERIES = [
    "oil prices",
    "Wheat exports to China",
    "talks on troops in Iraq",
    "the new prime minister",
    "company profits growth quarter year",
    "football derby striker goal club",
    '"prime minister" election',
    '"new york" shares',
    "café naïve",
    "the of and",  # only stop words: all of them are kept
    "unknownword oil",
]
FILTERS = [
    KeywordFilter(),
    KeywordFilter(since="2004-03-01T00:00:00Z"),
    KeywordFilter(until="2004-06-30T23:59:59Z"),
    KeywordFilter(since="2004-04-01T00:00:00Z", until="2004-04-30T23:59:59Z"),
    KeywordFilter(sources=["reuters", "AP"]),
    KeywordFilter(where={"topics": ["t1", "t3"]}),
    KeywordFilter(where={"topics": ["u2"], "source": ["BBC News"]}),
    KeywordFilter(sources=["bbc news"], since="2004-06-01T00:00:00Z", where={"topics": ["t0"]}),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> TantivyIndex:
    built = TantivyIndex(tmp_path_factory.mktemp("kw") / "index", create=True)
    built.write([], [ROWS[:700], ROWS[700:]], Analyzer(), upsert=False)
    return built


def passes(row: KeywordRow, flt: KeywordFilter) -> bool:
    """The filter's meaning, written out as archive/search/filters.py's SQL reads."""
    if flt.since and (row.date is None or row.date < flt.since):
        return False
    if flt.until and (row.date is None or row.date > flt.until):
        return False
    if flt.sources and (row.source or "\0").lower() not in {s.lower() for s in flt.sources}:
        return False
    for key, values in flt.where.items():
        have = [row.source] if key == "source" else row.metadata.get(key, [])
        if not set(have) & set(values):
            return False
    return True


def fts5_matches(rows: list[KeywordRow], query: str) -> list[tuple[int, float]]:
    """What archive/store/fts.py's FTS5 search returns over these rows (no cutoff)."""
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE VIRTUAL TABLE f USING fts5(text, tokenize='{TOKENIZE}')")
    conn.executemany(
        "INSERT INTO f(rowid, text) VALUES (?, ?)", [(r.passage_id, r.text) for r in rows]
    )
    out = conn.execute(
        "SELECT rowid, -bm25(f) FROM f WHERE f MATCH ? ORDER BY bm25(f), rowid",
        [" OR ".join(fts_terms(query))],
    ).fetchall()
    return [(int(a), float(b)) for a, b in out]


def test_stopwords_are_the_search_side_ones():
    assert STOPWORDS == SEARCH_STOPWORDS


def test_analysis_is_fts5s_tokenizer():
    text = (
        "Technology assembly: the café's naïve résumé_draft costs 1,987.50 £ in São Paulo; "
        "DON'T stop-words İstanbul STRASSE straße ﬁnance x² running ran runs."
    )
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{TOKENIZE}')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    conn.execute("INSERT INTO t(rowid, x) VALUES (1, ?)", [text])
    expected = [r[0] for r in conn.execute("SELECT term FROM v ORDER BY offset")]
    assert Analyzer().analyze(text) == expected
    assert "technolog" in expected and "assembl" in expected  # Porter's C departures


def test_parse_query_reads_words_as_fts_terms_does():
    assert parse_query("The talks on troops").items == [("talk",), ("troop",)]
    assert parse_query('"prime minister" talks talk').items == [
        ("prime", "minist"),
        ("talk",),
        ("talk",),  # FTS5 scores both, so the term counts twice
    ]
    assert parse_query("the of").items == [("the",), ("of",)]
    assert parse_query("foo_bar").items == [("foo", "bar")]  # FTS5 reads it as a phrase


def test_date_key_orders_as_the_strings_do():
    rng = random.Random(3)
    values = [
        f"{rng.randint(1980, 2030):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        + rng.choice(["Z", ""])
        for _ in range(400)
    ]
    values += ["2004-01-01T00:00:00", "2004-01-01T00:00:00Z", "2004-01-01T00:00:01"]
    values += ["2004-01-01", "2003-12-31", "2003-12-31T23:59:59Z"]  # bare days (no time)
    assert sorted(values) == sorted(values, key=date_key)
    assert date_key(None) == -1 and date_key("yesterday") == date_key("2004-1-1") == -2


@pytest.mark.parametrize("query", QUERIES)
def test_matches_the_passages_fts5_matches(index, query):
    """The same passages match (the rankings differ: Lucene's IDF, quantised lengths)."""
    got = index.search(parse_query(query), None, 5000)
    assert {p for p, _ in got} == {p for p, _ in fts5_matches(ROWS, query)}


def test_top10_overlap_with_fts5_is_high(index):
    overlaps = []
    for query in QUERIES:
        fts5 = [p for p, _ in fts5_matches(ROWS, query)[:10]]
        mine = [p for p, _ in index.search(parse_query(query), None, 10)]
        overlaps.append(len(set(fts5) & set(mine)) / max(1, len(fts5)))
    # 0.92 measured: 58 distinct words, so scores crowd and Lucene's IDF reorders near-ties
    assert np.mean(overlaps) >= 0.85, overlaps


@pytest.mark.parametrize("flt", FILTERS, ids=range(len(FILTERS)))
@pytest.mark.parametrize("k", [3, 40])
def test_filters_apply_before_ranking(index, flt, k):
    """The top k with a filter are the full ranking's passages that pass it, cut at k."""
    by_id = {r.passage_id: r for r in ROWS}
    for query in QUERIES:
        parsed = parse_query(query)
        full = index.search(parsed, None, 5000)
        expected = [(p, s) for p, s in full if passes(by_id[p], flt)][:k]
        got = index.search(parsed, flt, k)
        assert [p for p, _ in got] == [p for p, _ in expected], (query, flt)
        assert np.allclose([s for _, s in got], [s for _, s in expected])


def test_ties_are_broken_by_passage_id(tmp_path: Path):
    rows = [KeywordRow(100 - i, "wheat grain") for i in range(100)] + [
        KeywordRow(1000 + i, "wheat wheat wheat barley") for i in range(5)
    ]
    random.Random(1).shuffle(rows)
    built = TantivyIndex(tmp_path / "ties", create=True)
    built.write([], [rows[:41], rows[41:]], Analyzer(), upsert=False)
    for k in (1, 6, 7, 20, 60):  # 100 ties: past the first ask's slack for k 60
        got = built.search(parse_query("wheat"), None, k)
        assert got == sorted(got, key=lambda pair: (-pair[1], pair[0]))
        assert [p for p, _ in got] == ([1000, 1001, 1002, 1003, 1004] + list(range(1, 101)))[:k]


def test_phrases_match_words_in_sequence(index):
    analyzer = Analyzer()
    by_id = {r.passage_id: analyzer.analyze(r.text) for r in ROWS}
    for phrase in ("prime minister", "new york", "oil prices"):
        got = index.search(parse_query(f'"{phrase}"'), None, 5000)
        terms = analyzer.analyze(phrase)
        inside = {
            pid
            for pid, seq in by_id.items()
            if any(seq[i : i + len(terms)] == terms for i in range(len(seq)))
        }
        assert got and {p for p, _ in got} == inside == {
            p for p, _ in fts5_matches(ROWS, f'"{phrase}"')
        }


def test_filters_it_cannot_say_exactly_are_refused(index, tmp_path: Path):
    for name in ("id", "title", "author", "url"):
        with pytest.raises(UnsupportedFilter):
            index.search(parse_query("oil"), KeywordFilter(where={name: ["x"]}), 5)
    with pytest.raises(UnsupportedFilter):
        index.search(parse_query("oil"), KeywordFilter(where={"topics": ["x" * 20_000]}), 5)
    older = TantivyIndex(tmp_path / "older", create=True)  # a date written before ISO form
    older.write([], [[KeywordRow(1, "oil", "26-FEB-1987"), KeywordRow(2, "oil")]], Analyzer())
    assert len(older.search(parse_query("oil"), KeywordFilter(sources=["x"]), 5)) == 0
    with pytest.raises(UnsupportedFilter):
        older.search(parse_query("oil"), KeywordFilter(since="1987-01-01T00:00:00Z"), 5)
    older.write([1], [], Analyzer())  # gone: date filters are exact again
    assert older.search(parse_query("oil"), KeywordFilter(since="1987-01-01T00:00:00Z"), 5) == []


def test_upserts_are_idempotent(tmp_path: Path):
    built = TantivyIndex(tmp_path / "up", create=True)
    rows = corpus(50)
    built.write([], [rows], Analyzer(), upsert=False)
    built.write([], [rows[:20]], Analyzer())  # the same rows again (a repeated catch-up)
    built.write([rows[0].passage_id, 999_999], [], Analyzer())  # a missing id is a no-op
    assert len(built) == 49
    assert built.ids() == sorted(r.passage_id for r in rows[1:])
