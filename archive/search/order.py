"""Sort and page: relevance order pages through the ranked candidate list (by offset or by a
position cursor), date order walks the whole matching set by keyset (date, id).

A date-ordered result shows the article's best passage for the query: its best-ranked candidate
passage when it is among the ranked candidates, else the passage sharing the most of the query's
words (the first such one), which is how an article matching only by its words is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .collapse import Ranked
from .cursor import DateKey, date_cursor, position_cursor, read_date_key, read_position
from .matching import MatchView
from .terms import WORD_RE, query_terms, stem


def relevance_page(
    ranked: Ranked, offset: int, after: str | None, limit: int, search: str
) -> tuple[Ranked, str | None]:
    """One page of the ranked list and the cursor of the next one (None at the end)."""
    start = read_position(after, search) if after is not None else offset
    page = ranked[start : start + limit]
    end = start + limit
    return page, (position_cursor(end, search) if end < len(ranked) else None)


def date_page(
    view: MatchView, order: str, after: str | None, limit: int, search: str
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the matching set in date order and the cursor of the next one."""
    key = read_date_key(after, order, search) if after is not None else None
    rows = view.page(order, key, limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    cursor = None
    if more and rows:
        cursor = date_cursor(order, DateKey(rows[-1]["date"], rows[-1]["id"]), search)
    return rows, cursor


def best_by_words(passages: Sequence[tuple[int, str, int, str]], query: str) -> dict[str, int]:
    """article id -> the passage sharing the most query words (the earliest on a tie).

    `passages` are (passage id, article id, position, text), in reading order.
    """
    stems = {stem(t) for t in query_terms(query)}
    best: dict[str, tuple[int, int]] = {}  # article -> (shared words, passage id)
    for pid, article_id, _, text in passages:
        shared = len({stem(w) for w in WORD_RE.findall(text.lower())} & stems)
        if article_id not in best or shared > best[article_id][0]:
            best[article_id] = (shared, pid)
    return {article_id: pid for article_id, (_, pid) in best.items()}
