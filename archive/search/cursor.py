"""Opaque cursors for stable paging: `after` in a request, `next` in its response.

Date order is walked by keyset (Elasticsearch's `search_after`): the cursor holds the (date, id)
of the last result shown, so a page starts exactly after it however deep it is and whatever was
ingested since. Relevance order pages through a fixed, deterministic candidate list, so its
cursor is a position in that list. Each cursor also holds a fingerprint of the search it came
from (query, filters, mode, sort), so a cursor used with another search is refused instead of
quietly paging through something else.

A cursor is base64url of a small JSON object: opaque to clients, readable when debugging, and
never trusted: every value is checked when it is read back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..errors import InputError

MAX_CURSOR_CHARS = 600  # an article id of up to ~400 characters, a date and the fingerprint
_NOT_OURS = "after: not a cursor from a previous response (pass the `next` value unchanged)"


@dataclass(frozen=True)
class DateKey:
    """Where a date-ordered page ends: the last article's date (None: undated) and id."""

    date: str | None
    id: str


def fingerprint(parts: Any) -> str:
    """A short hash of what defines a search's order (not its page size)."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _encode(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(text: str, sort: str, search: str) -> dict[str, Any]:
    if not isinstance(text, str) or not text or len(text) > MAX_CURSOR_CHARS:
        raise InputError(_NOT_OURS)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InputError(_NOT_OURS) from None
    if not isinstance(payload, dict) or "s" not in payload or "f" not in payload:
        raise InputError(_NOT_OURS)
    if payload["s"] != sort:
        raise InputError(f"after: this cursor pages sort={payload['s']}, not sort={sort}")
    if payload["f"] != search:
        raise InputError(
            "after: this cursor belongs to another search (the query, filters or mode changed)"
        )
    return payload


def position_cursor(position: int, search: str) -> str:
    """The cursor of relevance order: the next page starts at `position`."""
    return _encode({"s": "relevance", "f": search, "o": int(position)})


def read_position(text: str, search: str) -> int:
    payload = _decode(text, "relevance", search)
    position = payload.get("o")
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise InputError(_NOT_OURS)
    return position


def date_cursor(sort: str, key: DateKey, search: str) -> str:
    """The cursor of date order: the next page starts after `key`."""
    return _encode({"s": sort, "f": search, "d": key.date, "i": key.id})


def read_date_key(text: str, sort: str, search: str) -> DateKey:
    payload = _decode(text, sort, search)
    date, article_id = payload.get("d"), payload.get("i")
    if not isinstance(article_id, str) or not (date is None or isinstance(date, str)):
        raise InputError(_NOT_OURS)
    return DateKey(date, article_id)
