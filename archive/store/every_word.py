"""Part (a) of the matching set (search/matching.py): the articles holding every term of a query,
the words possibly in different passages, computed at a cost that follows the rarest terms.

The plain definition, one FTS5 match per term mapped to articles and intersected
(explore.py's `reference_rows`), costs in proportion to the most common term's matches: a word
in 288,000 of a million passages costs over 100 ms even when two rare words already leave no
article. Here the terms are taken rarest first and the running set of articles shrinks with
each; it is exact, the same set as the plain SQL, by three steps that each answer "which of
these articles hold this term" in full:

- the rarest term is fetched: its matches mapped to their articles (`passages_owner`);
- a later term can be *fetched* again, only its matching passage ids, kept when they are
  passages of a surviving article;
- or *checked*: per surviving article, FTS5 is asked for one match inside each run of
  consecutive passage ids of that article (`rowid BETWEEN`, which FTS5 seeks natively), so
  only articles still in the set are looked at; every id in a run is the article's own, so a
  match found there is a match in the article.

A simple cost model (COSTS_US, measured at a million passages, bench/README.md) picks fetch or
check per term; as soon as the set is empty the answer is empty and the commoner terms are
never read. Terms are ordered by their match counts, counted with growing caps (counting in
FTS5's C loop costs a few per cent of fetching), so a very common term is never counted in
full unless every term is common.

What stays expensive: a query whose every term is common (or a single common word), since then
the answer itself is large and the rarest term's matches must all be mapped to articles
(about 1.2 us per matching passage).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

# Microseconds, measured on the 1M-passage synthetic archive (bench/count_1m.py --costs):
# mapping one match to its article, fetching one matching passage id, finding one article's
# passage ids, and one FTS5 seek inside a run of passage ids (FTS5 restarts its query per run).
COSTS_US = {"owner": 1.2, "rowid": 0.3, "span": 2.6, "seek": 50.0}
COUNT_CAPS = (1024, 4096, 16384, 65536, 262144, None)  # growing caps while ordering the terms

MATCHES = "SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?"
OWNERS = (
    "SELECT DISTINCT p.article_id FROM passages p INDEXED BY passages_owner WHERE p.id IN "
    f"({MATCHES})"
)
SPANS = (
    "SELECT article_id, id FROM passages INDEXED BY passages_article "
    "WHERE article_id IN (SELECT value FROM json_each(?))"
)
SEEK = (
    "SELECT DISTINCT json_extract(r.value, '$[2]') FROM json_each(?) r WHERE EXISTS (SELECT 1 "
    "FROM passages_fts WHERE passages_fts MATCH ? "
    "AND rowid BETWEEN json_extract(r.value, '$[0]') AND json_extract(r.value, '$[1]'))"
)


def count_matches(conn: sqlite3.Connection, term: str, cap: int | None) -> int:
    """Passages matching `term`, counted up to `cap` (None: all)."""
    if cap is None:
        return int(conn.execute(f"SELECT COUNT(*) FROM ({MATCHES})", [term]).fetchone()[0])
    sql = f"SELECT COUNT(*) FROM ({MATCHES} LIMIT ?)"
    return int(conn.execute(sql, [term, cap]).fetchone()[0])


def rarest_first(conn: sqlite3.Connection, terms: Sequence[str]) -> list[tuple[str, int, bool]]:
    """(term, count, exact) rarest first: every term is counted up to a cap that grows until
    some term's count is exact; terms left over the cap come last, their count a lower bound."""
    known: dict[str, tuple[int, bool]] = {}
    pending = list(dict.fromkeys(terms))
    for cap in COUNT_CAPS:
        for term in pending:
            n = count_matches(conn, term, cap)
            known[term] = (n, cap is None or n < cap)
        pending = [t for t in pending if not known[t][1]]
        if len(pending) < len(known):  # some count is exact: it is below every capped one
            break
    return sorted(((t, n, exact) for t, (n, exact) in known.items()), key=lambda x: x[1])


class Survivors:
    """The running set of articles and, once asked, their passage ids."""

    def __init__(self, conn: sqlite3.Connection, articles: set[str]) -> None:
        self.conn = conn
        self.articles = articles
        self.passages: dict[int, str] | None = None

    def spans_cost(self) -> float:
        return 0.0 if self.passages is not None else COSTS_US["span"] * len(self.articles)

    def load_passages(self) -> dict[int, str]:
        if self.passages is None:
            rows = self.conn.execute(SPANS, [json.dumps(sorted(self.articles))]).fetchall()
            self.passages = {int(pid): article for article, pid in rows}
        return self.passages

    def keep(self, articles: set[str]) -> None:
        self.articles &= articles
        if self.passages is not None:
            self.passages = {p: a for p, a in self.passages.items() if a in self.articles}

    def runs(self) -> list[tuple[int, int, str]]:
        """(first id, last id, article) for each run of consecutive passage ids of one
        surviving article."""
        runs: list[tuple[int, int, str]] = []
        for pid, article in sorted(self.load_passages().items()):
            if runs and runs[-1][2] == article and runs[-1][1] == pid - 1:
                runs[-1] = (runs[-1][0], pid, article)
            else:
                runs.append((pid, pid, article))
        return runs


def with_term(survivors: Survivors, term: str, count: int, exact: bool) -> set[str]:
    """The surviving articles holding `term`, by whichever of the three ways costs least."""
    conn = survivors.conn
    seek = survivors.spans_cost() + COSTS_US["seek"] * len(survivors.articles)
    fetch_ids = survivors.spans_cost() + COSTS_US["rowid"] * count
    fetch_owners = COSTS_US["owner"] * count
    if seek > min(fetch_ids, fetch_owners) and not exact:  # a lower bound: count it all
        count, exact = count_matches(conn, term, None), True
        fetch_ids = survivors.spans_cost() + COSTS_US["rowid"] * count
        fetch_owners = COSTS_US["owner"] * count
    best = min(seek, fetch_ids, fetch_owners)
    if best == fetch_owners:
        return {row[0] for row in conn.execute(OWNERS, [term])}
    if best == fetch_ids:
        passages = survivors.load_passages()
        found = (passages.get(row[0]) for row in conn.execute(MATCHES, [term]))
        return {a for a in found if a is not None}
    ranges = json.dumps(survivors.runs(), ensure_ascii=False)
    return {row[0] for row in conn.execute(SEEK, [ranges, term])}


def articles_with_every_term(conn: sqlite3.Connection, terms: Sequence[str]) -> set[str]:
    """Ids of the articles whose passages, together, match every FTS5 term (fts.fts_terms);
    read on `conn`, which should hold one snapshot (a read transaction) across the calls."""
    if not terms:
        return set()
    ordered = rarest_first(conn, terms)
    first, count, _ = ordered[0]
    if count == 0:
        return set()
    survivors = Survivors(conn, {row[0] for row in conn.execute(OWNERS, [first])})
    for term, count, exact in ordered[1:]:
        if not survivors.articles:
            break
        survivors.keep(with_term(survivors, term, count, exact))
    return survivors.articles
