"""Article fields as filters compare them, in forms numpy and tantivy can compare the same way.

archive/search/filters.py filters in SQL: `a.date >= ?` compares ISO 8601 strings, and
`lower(a.source) IN (...)` folds ASCII letters only (SQLite's built-in lower(), no ICU). The
derived views (the keyword index, the passage map) answer the same filters without SQL, so
they turn dates into integers ordered as the strings are, and fold sources as SQLite does.
"""

from __future__ import annotations

import re

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z?)$")
_DAY_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
NO_DATE = -1
INEXACT_DATE = -2  # a stored date in another form: date filters must go to SQL


def date_key(value: str | None) -> int:
    """An integer that orders as the stored ISO 8601 strings do; None -> -1, other forms -> -2.

    '1987-03-02T15:10:44Z' -> 2 * 19870302151044 + 1; the same without the 'Z' (archives
    written before dates were normalised) sorts just before it, as the strings do; a bare day
    ('1987-03-02': a date without a time of day, or a filter's `since`) just before both.
    """
    if value is None:
        return NO_DATE
    day = _DAY_RE.match(value)
    if day:
        return 2 * int("".join(day.groups()) + "000000") - 1
    match = _DATE_RE.match(value)
    if not match:
        return INEXACT_DATE
    return 2 * int("".join(match.groups()[:6])) + (1 if match.group(7) else 0)


def sqlite_lower(text: str) -> str:
    """SQLite's built-in lower(): ASCII letters only, as the filter's SQL folds sources."""
    return text.translate(_ASCII_LOWER)
