"""Dates that mean what they say: a partial date is the whole period, `--until DAY` includes
the day, day/month forms that read both ways are refused with a hint, an inverted range is an
error, and a stored date keeps the source's time of day or stays a bare day."""

from __future__ import annotations

import pytest

from newsarchive.archive.dates import DateError, date_range, normalise_date
from newsarchive.archive.search.filters import Filters


@pytest.mark.parametrize(
    ("since", "until", "bounds"),
    [
        ("1987-03", "1987-03", ("1987-03-01", "1987-03-31T23:59:59Z")),  # was 03-27 .. 03-27
        ("1987", "1987", ("1987-01-01", "1987-12-31T23:59:59Z")),  # was until 1987-11-27
        ("1988-02", None, ("1988-02-01", None)),
        (None, "1988-02", (None, "1988-02-29T23:59:59Z")),  # a leap year's February
        ("1 March 1987", "March 31, 1987", ("1987-03-01", "1987-03-31T23:59:59Z")),
        (None, "13/01/1987", (None, "1987-01-13T23:59:59Z")),  # only one reading: accepted
        ("2020-01-20T06:05:18Z", None, ("2020-01-20T06:05:18Z", None)),  # an instant
    ],
)
def test_a_partial_date_is_the_whole_period(since, until, bounds):
    assert date_range(since, until) == bounds


def test_until_a_day_includes_that_day():
    _, until = date_range(None, "1987-03-01")
    assert "1987-03-01T23:59:59Z" == until
    assert "1987-03-01T15:10:44Z" <= until and "1987-03-01" <= until  # instant and bare day


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("03/01/1987", "'03/01/1987' is ambiguous (day/month or month/day): write 1987-01-03 "
         "or 1987-03-01"),
        ("3.1.87", "'3.1.87' is ambiguous (day/month or month/day): write 1987-01-03 or "
         "1987-03-01"),
        ("March 3", "date 'March 3' has no year"),
        ("last tuesday-ish", "unparseable date 'last tuesday-ish'"),
    ],
)  # fmt: skip
def test_ambiguous_and_unreadable_bounds_are_refused_naming_the_parameter(value, message):
    with pytest.raises(DateError) as error:
        date_range(None, value)
    assert str(error.value) == f"until: {message}"


def test_an_inverted_range_is_an_error_not_an_empty_page():
    with pytest.raises(DateError) as error:
        Filters(since="1987-04", until="1987-03").check()
    assert str(error.value) == (
        "since '1987-04' is after until '1987-03': no date can match; swap them"
    )
    Filters(since="1987-03-31", until="1987-03").check()  # the same month's last day is inside


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2020-01-20T06:05:18Z", "2020-01-20T06:05:18Z"),
        ("2020-01-18T14:30:02-05:00", "2020-01-18T19:30:02Z"),
        ("Tue, 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"),
        ("26-FEB-1987 15:10:44.60", "1987-02-26T15:10:44Z"),
        ("2020-01-20T00:00:00+00:00", "2020-01-20T00:00:00Z"),  # a real midnight stays one
        ("1987-03-02", "1987-03-02"),  # a day stays a day, not midnight UTC
        ("19 January 2020", "2020-01-19"),
    ],
)
def test_stored_dates_keep_the_time_of_day_or_stay_a_day(raw, stored):
    assert normalise_date(raw) == stored


def test_a_stored_date_without_a_year_is_refused():
    with pytest.raises(DateError, match="has no year"):
        normalise_date("March 3")
