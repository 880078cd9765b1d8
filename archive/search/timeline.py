"""Coverage over time: matching articles per day, week, month or year, and their share of all
articles in each period (GDELT's "volume intensity"), so a burst of coverage is told apart from
a period when the archive simply holds more.

The store counts (SQL GROUP BY over the indexed date column); this module picks the interval,
lays out every bucket of the span (empty ones included, so a chart has no holes) and computes
the shares. Buckets start on the period's first day (weeks on Monday), as ISO dates.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from ..errors import InputError

INTERVALS = ("day", "week", "month", "year")
Interval = Literal["day", "week", "month", "year"]
TimelineOption = Literal["auto", "day", "week", "month", "year"]
MAX_BUCKETS = 10_000
# `auto` picks the finest interval that keeps a span readable: about 100 buckets or fewer.
AUTO_LIMITS = (("day", 92), ("week", 731), ("month", 366 * 15))


class Bucket(BaseModel):
    start: str = Field(description="First day of the period (ISO date; weeks start on Monday).")
    count: int = Field(description="Matching articles dated in the period.")
    all: int = Field(description="Articles passing the filters (without the query) in the period.")
    share: float = Field(description="count / all: the query's share of the period's coverage.")


class Timeline(BaseModel):
    interval: Interval
    buckets: list[Bucket] = Field(
        default_factory=list, description="Every period from the first to the last dated match."
    )
    undated: int = Field(0, description="Matching articles without a date (in no bucket).")


class TimelineView(Protocol):
    """What the timeline reads of a matching set (store/explore.py implements it)."""

    total: int

    def days(self) -> list[tuple[str, int]]:
        """(ISO day, matching articles) for each day with any, in order."""
        ...

    def coverage(self, start: str, end: str) -> list[tuple[str, int]]:
        """(ISO day, articles passing the filters) for the days in [start, end)."""
        ...


def bucket_start(day: date, interval: str) -> date:
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def next_start(start: date, interval: str) -> date:
    """The first day of the period after the one starting at `start`."""
    try:
        if interval == "day":
            return start + timedelta(days=1)
        if interval == "week":
            return start + timedelta(days=7)
        if interval == "month":
            years, month = divmod(start.month, 12)
            return date(start.year + years, month + 1, 1)
        return date(start.year + 1, 1, 1)
    except (OverflowError, ValueError):
        return date.max


def bucket_count(first: date, last: date, interval: str) -> int:
    """How many buckets cover [first, last]."""
    a, b = bucket_start(first, interval), bucket_start(last, interval)
    if interval == "day":
        return (b - a).days + 1
    if interval == "week":
        return (b - a).days // 7 + 1
    if interval == "month":
        return (b.year - a.year) * 12 + b.month - a.month + 1
    return b.year - a.year + 1


def choose_interval(first: date, last: date) -> str:
    days = (last - first).days
    for interval, limit in AUTO_LIMITS:
        if days <= limit:
            return interval
    return "year"


def parse_day(value: str | None) -> date | None:
    """The day of a stored ISO date ('1987-03-02T15:10:44Z' or '1987-03-02')."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def per_bucket(days: list[tuple[str, int]], interval: str) -> dict[str, int]:
    """Day counts added up per bucket (a few hundred rows per year of archive at most)."""
    out: dict[str, int] = {}
    for text, count in days:
        day = parse_day(text)
        if day is not None:
            key = bucket_start(day, interval).isoformat()
            out[key] = out.get(key, 0) + count
    return out


def timeline_of(view: TimelineView, interval: str = "auto") -> Timeline:
    """The timeline of a matching set; `interval` is auto or one of INTERVALS.

    The store counts articles per day (one GROUP BY over the indexed date column); days are
    added up into weeks, months or years here.
    """
    days = view.days()
    undated = view.total - sum(count for _, count in days)
    dated = [parse_day(text) for text, _ in days]
    dated = [day for day in dated if day is not None]
    if not dated:
        return Timeline(interval="day" if interval == "auto" else interval, undated=undated)
    first, last = min(dated), max(dated)
    if interval == "auto":
        interval = choose_interval(first, last)
    count = bucket_count(first, last, interval)
    if count > MAX_BUCKETS:
        raise InputError(
            f"timeline: {count:,} {interval} buckets from {first} to {last}; at most "
            f"{MAX_BUCKETS:,} (use a longer interval or narrow --since/--until)"
        )
    starts = [bucket_start(first, interval)]
    for _ in range(count - 1):
        starts.append(next_start(starts[-1], interval))
    end = next_start(starts[-1], interval)
    counts = per_bucket(days, interval)
    totals = per_bucket(view.coverage(starts[0].isoformat(), end.isoformat()), interval)
    buckets = []
    for start in starts:
        key = start.isoformat()
        matched, everything = counts.get(key, 0), totals.get(key, 0)
        share = round(matched / everything, 6) if everything else 0.0
        buckets.append(Bucket(start=key, count=matched, all=everything, share=share))
    return Timeline(interval=interval, buckets=buckets, undated=undated)


class TimelineResponse(BaseModel):
    """`archive.timeline()`, `newsarchive timeline --json`, `GET /timeline`."""

    total: int = Field(description="Articles in the matching set.")
    timeline: Timeline
