"""Dates in one comparable form, so `--since/--until` are string compares over an index.

A stored date is ISO 8601 in UTC with the time of day the source gave
(`2020-01-20T06:05:18Z`), or a bare day (`2015-07-14`) when the source gave only a day: a
date-only source is shown as a date, not as midnight UTC. Both forms sort together, a day
before every instant of that day.

A filter bound is a period: `1987` is the whole year, `1987-03` the whole of March, a day the
whole day, so `--since` takes the period's first instant and `--until` its last (`--until
1987-03-31` includes the 31st). A numeric day/month form that reads both ways (`03/01/1987`)
is refused with the two ISO readings as a hint, rather than guessed.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from dateutil import parser as dateparser

from .errors import InputError


class DateError(InputError):
    """A date that cannot be read; the message quotes it."""


# Two defaults that differ in every field: a field equal under both was written by the user.
_DEFAULTS = (datetime(2000, 1, 1, 0, 0, 0), datetime(2004, 2, 2, 1, 1, 1))
_NUMERIC_DMY = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?!\d)")


@dataclass(frozen=True)
class Period:
    """What a date string names: an instant (`time`) or a whole day, month or year."""

    start: datetime  # aware, UTC
    end: datetime  # aware, UTC: the last second of the period (== start for an instant)
    precision: str  # "time" | "day" | "month" | "year"


def parse_period(value: str, *, refuse_ambiguous: bool = False) -> Period:
    """Read a date and say how much of it was given; DateError when it cannot be read.

    Naive times are taken as UTC (news wires stamp local time without a zone; guessing a zone
    would be worse). A date without a year is refused rather than given the current one.
    """
    text = str(value).strip()
    if refuse_ambiguous:
        _refuse_ambiguous(text)
    try:
        first = dateparser.parse(text, default=_DEFAULTS[0])
        second = dateparser.parse(text, default=_DEFAULTS[1])
    except (ValueError, OverflowError) as exc:
        raise DateError(f"unparseable date {text!r}") from exc
    if first.year != second.year:
        raise DateError(f"date {text!r} has no year")
    if first.hour == second.hour:
        if first.tzinfo is None:
            first = first.replace(tzinfo=timezone.utc)
        start = first.astimezone(timezone.utc).replace(microsecond=0)
        return Period(start, start, "time")
    if first.day == second.day:
        start = datetime(first.year, first.month, first.day, tzinfo=timezone.utc)
        return Period(start, start + timedelta(days=1, seconds=-1), "day")
    if first.month == second.month:
        start = datetime(first.year, first.month, 1, tzinfo=timezone.utc)
        last = calendar.monthrange(first.year, first.month)[1]
        return Period(start, start + timedelta(days=last, seconds=-1), "month")
    start = datetime(first.year, 1, 1, tzinfo=timezone.utc)
    return Period(start, datetime(first.year, 12, 31, 23, 59, 59, tzinfo=timezone.utc), "year")


def _refuse_ambiguous(text: str) -> None:
    """`03/01/1987` is 3 January in most of the world and 1 March in the US: ask, not guess."""
    match = _NUMERIC_DMY.match(text)
    if not match:
        return
    a, b, year = int(match[1]), int(match[2]), match[3]
    if a == b or a > 12 or b > 12:
        return
    if len(year) == 2:
        year = ("19" if int(year) > 30 else "20") + year
    raise DateError(
        f"{text!r} is ambiguous (day/month or month/day): write {year}-{b:02d}-{a:02d} "
        f"or {year}-{a:02d}-{b:02d}"
    )


def normalise_date(value: str | None) -> str | None:
    """A stored date: 'Tue, 10 Jun 2003 04:00:00 GMT' -> '2003-06-10T04:00:00Z',
    '1987-03-02' -> '1987-03-02' (a day stays a day). Raises DateError rather than inventing
    a date; a month or a year alone is stored as its first day."""
    if value is None or not str(value).strip():
        return None
    period = parse_period(str(value))
    if period.precision == "time":
        return period.start.strftime("%Y-%m-%dT%H:%M:%SZ")
    return period.start.strftime("%Y-%m-%d")


def bound_string(period: Period, *, end: bool = False) -> str:
    """A bound that starts at midnight is written as the bare day, so articles stored as that
    day (no time of day) are inside it; an end is always the period's last second."""
    if end:
        return period.end.strftime("%Y-%m-%dT%H:%M:%SZ")
    if period.start.time() == datetime.min.time():
        return period.start.strftime("%Y-%m-%d")
    return period.start.strftime("%Y-%m-%dT%H:%M:%SZ")


def read_bound(value: str | None) -> Period | None:
    """A `since`/`until` value as a period (ambiguous day/month forms refused)."""
    if value is None or not str(value).strip():
        return None
    return parse_period(str(value), refuse_ambiguous=True)


def date_range(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """Both bounds, checked: each error names its parameter, and an inverted range is an
    error instead of a search that can only find nothing."""
    bounds = []
    for name, value in (("since", since), ("until", until)):
        try:
            bounds.append(read_bound(value))
        except DateError as exc:
            raise DateError(f"{name}: {exc}") from None
    first, last = bounds
    if first is not None and last is not None and first.start > last.end:
        raise DateError(f"since {since!r} is after until {until!r}: no date can match; swap them")
    return (
        bound_string(first) if first is not None else None,
        bound_string(last, end=True) if last is not None else None,
    )
