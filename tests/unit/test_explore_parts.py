"""The pure parts of exploring: timeline buckets, cursors, facet and export field checks, CSV
cells."""

from __future__ import annotations

import base64
from datetime import date

import pytest

from newsarchive.archive import InputError
from newsarchive.archive.search import cursor, export, facets, timeline


class Days:
    """A matching set reduced to its per-day counts (a TimelineView without a store)."""

    def __init__(self, days: dict[str, int], coverage: dict[str, int], undated: int = 0) -> None:
        self._days, self._coverage = sorted(days.items()), sorted(coverage.items())
        self.total = sum(days.values()) + undated

    def days(self):
        return self._days

    def coverage(self, start: str, end: str):
        return [(d, n) for d, n in self._coverage if start <= d < end]


@pytest.mark.parametrize(
    ("day", "interval", "start", "following"),
    [
        (date(1987, 3, 4), "week", date(1987, 3, 2), date(1987, 3, 9)),  # Wednesday -> Monday
        (date(1987, 3, 8), "week", date(1987, 3, 2), date(1987, 3, 9)),  # Sunday
        (date(1987, 12, 31), "month", date(1987, 12, 1), date(1988, 1, 1)),
        (date(1987, 12, 31), "year", date(1987, 1, 1), date(1988, 1, 1)),
        (date(9999, 12, 31), "day", date(9999, 12, 31), date.max),
    ],
)
def test_buckets(day: date, interval: str, start: date, following: date):
    assert timeline.bucket_start(day, interval) == start
    assert timeline.next_start(start, interval) == following


def test_auto_interval_keeps_about_a_hundred_buckets_or_fewer():
    first = date(1987, 1, 1)
    picks = [timeline.choose_interval(first, date.fromordinal(first.toordinal() + days))
             for days in (0, 92, 93, 731, 732, 366 * 15, 366 * 15 + 1)]  # fmt: skip
    assert picks == ["day", "day", "week", "week", "month", "month", "year"]


def test_timeline_rolls_days_up_and_keeps_empty_buckets():
    view = Days(
        {"1987-03-02": 2, "1987-03-31": 1, "1987-05-10": 1},
        {"1987-02-27": 9, "1987-03-02": 4, "1987-03-31": 4, "1987-04-02": 5, "1987-05-10": 2},
        undated=3,
    )
    result = timeline.timeline_of(view, "month")
    assert [(b.start, b.count, b.all, b.share) for b in result.buckets] == [
        ("1987-03-01", 3, 8, 0.375),
        ("1987-04-01", 0, 5, 0.0),
        ("1987-05-01", 1, 2, 0.5),
    ]
    assert result.undated == 3
    empty = timeline.timeline_of(Days({}, {}, undated=2))
    assert (empty.interval, empty.buckets, empty.undated) == ("day", [], 2)


def test_cursors_round_trip_and_refuse_tampering():
    key = cursor.DateKey("1987-03-02T00:00:00Z", "https://example.com/a?b=1")
    text = cursor.date_cursor("newest", key, "abc")
    assert cursor.read_date_key(text, "newest", "abc") == key
    assert cursor.read_position(cursor.position_cursor(40, "abc"), "abc") == 40
    forged = base64.urlsafe_b64encode(b'{"s":"relevance","f":"abc","o":-5}').decode()
    for bad in (forged, "", "x" * 700, "%%%", base64.urlsafe_b64encode(b"[1]").decode()):
        with pytest.raises(InputError, match="after: not a cursor"):
            cursor.read_position(bad, "abc")
    with pytest.raises(InputError, match="belongs to another search"):
        cursor.read_date_key(text, "newest", "xyz")


def test_facet_fields_are_checked():
    assert facets.check_facets(["source", "topics", "source"]) == ["source", "topics"]
    with pytest.raises(InputError, match="facets: 'url' cannot be a facet"):
        facets.check_facet("url")
    with pytest.raises(InputError, match="at most 10"):
        facets.check_facets([f"f{i}" for i in range(11)])


def test_export_fields_and_csv_cells():
    assert export.check_fields(None) == ["id", "title", "date", "source", "url"]
    assert export.check_fields(["id,title", "topics"]) == ["id", "title", "topics"]
    with pytest.raises(InputError, match="fields: none given"):
        export.check_fields(" , ")
    assert [export._cell(v) for v in (None, ["a", None], {"k": 1}, "=1+1", "@x", 7)] == [
        "", "a; ", '{"k": 1}', "'=1+1", "'@x", "7"
    ]  # fmt: skip
    lines = list(export.lines([{"id": "a", "title": 'He said "no",\nthen left'}], ["id", "title"],
                              "csv"))  # fmt: skip
    assert lines == ["id,title\n", 'a,"He said ""no"",\nthen left"\n']
