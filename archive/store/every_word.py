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

A simple cost model (COSTS_US, measured at a million passages: bench/count_1m.py --costs)
picks among the three per term, by the survivors' number and the term's match count; as soon
as the set is empty the answer is empty and the commoner terms are never read. Terms are
ordered by their match counts, counted with caps that grow until two counts are exact
(counting in FTS5's C loop costs about 3% of fetching), and a later term's count goes only as
far as fetching could still beat checking, so a very common term is never counted in full
unless every term is common.

When every term is common (the rarest past COMMON matches), the answer is large anyway: the
rarest terms are intersected in SQL as the plain definition does (no ids through Python), the
commoner rest checked against the result. This shape stays as expensive as before: about
1.2 us per matching passage of the intersected terms (a single common word included).

The answer is a SELECT of article ids (the SQL intersection, or the ids found), so the count
and the materialised set (explore.py) are built from the same one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import Any

import numpy as np

from .fts import count_matches

# Articles of these passage ids from an in-memory passage -> article map at the caller's
# snapshot, or None (then SQL maps them): the facade passes index/passage_map.py's.
Owners = Callable[[np.ndarray], "set[str] | None"]

# Microseconds, measured on the 1M-passage synthetic archive (bench/count_1m.py --costs):
# mapping one match to its article in SQL ("owner") or with a passage map ("mapped": fetching
# its id plus a numpy lookup), fetching one matching passage id, finding one article's passage
# ids, and one FTS5 seek inside a run of passage ids (FTS5 restarts its query per run and walks
# each of the index's segments from the start of the term's doclist there, unless the doclist
# is long enough to have its own index: 20-450 us measured, about 100 for mid-sized ones).
COSTS_US = {"owner": 1.2, "rowid": 0.25, "span": 2.5, "seek": 100.0, "mapped": 0.3}
COUNT_CAPS = (*(1024 << i for i in range(9)), None)  # growing caps while ordering the terms
# Past COMMON matches for the rarest term the answer is large anyway: the terms up to JOIN_RATIO
# times as common are intersected in SQL, as the plain definition does, with no ids in Python.
COMMON = 16384
JOIN_RATIO = 4
NONE = "SELECT NULL WHERE 0"

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


def rarest_first(conn: sqlite3.Connection, terms: Sequence[str]) -> list[tuple[str, int, bool]]:
    """(term, count, exact) rarest first: every term is counted up to a cap that grows until
    two terms' counts are exact (the first two steps, on the most articles, cost the most);
    terms left over the cap come last, their count a lower bound."""
    known: dict[str, tuple[int, bool]] = {}
    pending = list(dict.fromkeys(terms))
    for cap in COUNT_CAPS:
        for term in pending:
            n = count_matches(conn, term, cap)
            known[term] = (n, cap is None or n < cap)
        pending = [t for t in pending if not known[t][1]]
        if len(known) - len(pending) >= min(2, len(known)):  # exact counts are below the rest
            break
    return sorted(((t, n, exact) for t, (n, exact) in known.items()), key=lambda x: x[1])


def matching_ids(conn: sqlite3.Connection, term: str) -> Iterator[int]:
    """The ids of the passages matching `term`, unpacked from their rows in C (a Python loop
    over thousands of rows per term cost more than reading them, on a side thread that
    shares the GIL with the search it runs beside)."""
    return chain.from_iterable(conn.execute(MATCHES, [term]))


def owners_of(conn: sqlite3.Connection, term: str, owners: Owners | None) -> set[str]:
    """The articles holding `term`: its matches mapped through `owners` when it can, else in
    SQL through passages_owner."""
    if owners is not None:
        ids = np.fromiter(matching_ids(conn, term), dtype=np.int64)
        found = owners(ids)
        if found is not None:
            return found
    return {row[0] for row in conn.execute(OWNERS, [term])}


class Survivors:
    """The running set of articles and, once asked, their passage ids."""

    def __init__(
        self, conn: sqlite3.Connection, articles: set[str], owners: Owners | None = None
    ) -> None:
        self.conn = conn
        self.articles = articles
        self.owners = owners
        self.passages: dict[int, str] | None = None
        # with a passage map, mapping a match costs about what fetching its id does
        self.costs = COSTS_US if owners is None else {**COSTS_US, "owner": COSTS_US["mapped"]}

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
    costs = survivors.costs
    spans = survivors.spans_cost()
    seek = spans + costs["seek"] * len(survivors.articles)
    if not exact:  # a lower bound: counted on only as far as fetching could still win
        cap = int(max((seek - spans) / costs["rowid"], seek / costs["owner"])) + 1
        if count < cap:
            count = count_matches(conn, term, cap)
            exact = count < cap
    fetch_ids = spans + costs["rowid"] * count
    fetch_owners = costs["owner"] * count
    best = min(seek, fetch_ids, fetch_owners)
    if best == fetch_owners:
        return owners_of(conn, term, survivors.owners)
    if best == fetch_ids:
        passages = survivors.load_passages()
        return {passages[pid] for pid in passages.keys() & matching_ids(conn, term)}
    ranges = json.dumps(survivors.runs(), ensure_ascii=False)
    return {row[0] for row in conn.execute(SEEK, [ranges, term])}


def articles_with_every_term(
    conn: sqlite3.Connection, terms: Sequence[str], owners: Owners | None = None
) -> tuple[str, list[Any]]:
    """A SELECT of the ids of the articles whose passages, together, match every FTS5 term
    (fts.fts_terms), and its parameters: the ids themselves when found here, or the SQL
    intersection when every term is common. Read on `conn`, which should hold one snapshot (a
    read transaction) across the calls and the statement that uses the SELECT."""
    if not terms:
        return NONE, []
    ordered = rarest_first(conn, terms)
    first, rarest, _ = ordered[0]
    if rarest == 0:
        return NONE, []
    joined, rest = [first], ordered[1:]
    if rarest > COMMON:  # every term is common: the rarer ones are intersected in SQL
        cap = JOIN_RATIO * rarest
        rest = []
        for term, count, exact in ordered[1:]:
            if not exact and count <= cap:
                count = count_matches(conn, term, cap + 1)
                exact = count <= cap
            if count <= cap:
                joined.append(term)
            else:
                rest.append((term, count, exact))
    sql = " INTERSECT ".join([OWNERS] * len(joined))
    if not rest:
        return sql, joined
    if len(joined) == 1:
        survivors = Survivors(conn, owners_of(conn, first, owners), owners)
    else:
        survivors = Survivors(conn, {row[0] for row in conn.execute(sql, joined)}, owners)
    for term, count, exact in rest:
        if not survivors.articles:
            break
        survivors.keep(with_term(survivors, term, count, exact))
    return "SELECT value FROM json_each(?)", [json.dumps(sorted(survivors.articles))]
