"""JSON records as articles: one object, a list of objects, or JSON Lines (one per line).

Known fields map onto the article; every other field is kept as metadata, which `--where`
filters on. A bad record is an InputError naming the file and line; the others still go in.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from ..errors import InputError
from ..records import Article
from .cleaning import clean_paragraphs, normalise_whitespace
from .text import split_paragraphs

KNOWN_FIELDS = {
    "id",
    "title",
    "headline",
    "body",
    "text",
    "content",
    "paragraphs",
    "date",
    "date_raw",
    "published",
    "source",
    "url",
    "author",
    "byline",
}


def article_from_record(record: Any, origin: str) -> Article:
    """Map one JSON object to an Article; unknown fields are kept as metadata."""
    if not isinstance(record, dict):
        raise InputError(f"{origin}: expected a JSON object, got {type(record).__name__}")
    title = normalise_whitespace(str(record.get("title") or record.get("headline") or ""))
    paragraphs_field = record.get("paragraphs")
    if isinstance(paragraphs_field, list) and paragraphs_field:
        paragraphs = [str(p) for p in paragraphs_field if p is not None]
    else:
        body = record.get("body") or record.get("text") or record.get("content") or ""
        if not isinstance(body, str):
            raise InputError(f"{origin}: field 'body' must be a string")
        paragraphs = split_paragraphs(body)
    paragraphs = clean_paragraphs(paragraphs)
    if not paragraphs:
        label = record.get("id") or title[:60] or "article"
        raise InputError(f"{origin}: article '{label}' has no body text")
    author = record.get("author") or record.get("byline")
    metadata = {k: v for k, v in record.items() if k not in KNOWN_FIELDS and v is not None}
    date = record.get("date") or record.get("published")
    return Article(
        id=str(record["id"]) if record.get("id") not in (None, "") else None,
        title=title,
        paragraphs=paragraphs,
        author=normalise_whitespace(str(author)) if author else None,
        source=str(record["source"]) if record.get("source") else None,
        date=str(date) if date else None,
        date_raw=str(record.get("date_raw") or date) if (record.get("date_raw") or date) else None,
        url=str(record["url"]) if record.get("url") else None,
        metadata=metadata,
        origin=origin,
    )


def iter_jsonl(stream: IO[str], name: str) -> Iterator[Article | InputError]:
    """One article per line; a bad line is reported and the rest still read."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        origin = f"{name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputError(f"{origin}: malformed JSON ({exc.msg} at column {exc.colno})")
            continue
        try:
            yield article_from_record(record, origin)
        except InputError as exc:
            yield exc


def iter_json_document(text: str, name: str) -> Iterator[Article | InputError]:
    """One object or a list of objects."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}:{exc.lineno}: malformed JSON ({exc.msg} at column {exc.colno})"
        ) from exc
    records = data if isinstance(data, list) else [data]
    for i, record in enumerate(records):
        origin = name if len(records) == 1 else f"{name}[{i}]"
        try:
            yield article_from_record(record, origin)
        except InputError as exc:
            yield exc
