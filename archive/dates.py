"""Dates in one comparable form: ISO 8601 in UTC, so `--since/--until` are string compares."""

from __future__ import annotations

from datetime import datetime, timezone

from dateutil import parser as dateparser

from .errors import InputError


class DateError(InputError):
    """A date that cannot be read; the message quotes it."""


def normalise_date(value: str | None) -> str | None:
    """'26-FEB-1987 15:10:44.60' or 'Tue, 10 Jun 2003 04:00:00 GMT' -> '1987-02-26T15:10:44Z'.

    Naive times are taken as UTC (news wires stamp local time without a zone; guessing a
    zone would be worse). Raises DateError rather than inventing a date.
    """
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        parsed = dateparser.parse(text)
    except (ValueError, OverflowError) as exc:
        raise DateError(f"unparseable date {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    parsed = parsed.astimezone(timezone.utc).replace(microsecond=0)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalise_bound(value: str | None, *, end: bool = False) -> str | None:
    """A filter bound: a bare day covers the whole day ('2004-05-01' as --until is inclusive)."""
    if not value:
        return None
    text = value.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            datetime.strptime(text, "%Y-%m-%d")
        except ValueError as exc:
            raise DateError(f"unparseable date {text!r}; use YYYY-MM-DD") from exc
        return text + ("T23:59:59Z" if end else "T00:00:00Z")
    return normalise_date(text)
