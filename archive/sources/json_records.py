"""JSON records as articles: one object, a list of objects, or JSON Lines (one per line).

Known fields map onto the article; every other field is kept as metadata, which `--where`
filters on. A bad record is an InputError naming the file and line; the others still go in.
Lines are read one at a time and at most `Limits.line_bytes` long; a file with more than
`Limits.errors_per_file` bad lines is abandoned (the lines before stay read). JSON nested too
deeply for the parser and strings holding lone UTF-16 surrogates (which no text encoding can
store) are bad records like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from ..config import Limits, configured_limits
from ..errors import InputError
from ..records import Article
from ..textcheck import surrogate_field, surrogate_message
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
    bad = surrogate_field(record)
    if bad:
        raise InputError(f"{origin}: {surrogate_message(bad)}")
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


CHUNK = 1 << 20


def _lines(stream: IO[bytes], limit: int) -> Iterator[bytes | None]:
    """The stream's lines, each at most `limit` bytes; a longer line is read through in
    bounded pieces, never held, and given as None. Reads what has arrived (`read1`), so a pipe
    is read as it is written."""
    read = getattr(stream, "read1", stream.read)
    pending = b""  # the start of a line whose end has not arrived
    skipping = False  # inside a line already past the limit
    while True:
        chunk = read(CHUNK)
        if not chunk:
            break
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            piece = chunk[start : end + 1]
            start = end + 1
            if skipping:
                skipping = False
                yield None
                continue
            if pending:
                piece, pending = pending + piece, b""
            yield piece if len(piece) <= limit else None
        if skipping:
            continue
        rest = chunk[start:]
        if len(pending) + len(rest) > limit:
            pending, skipping = b"", True
        else:
            pending += rest
    if skipping:
        yield None
    elif pending:
        yield pending


def iter_jsonl(
    stream: IO[bytes] | IO[str], name: str, limits: Limits | None = None
) -> Iterator[Article | InputError]:
    """One article per line; a bad line is reported and the rest still read."""
    limits = limits or configured_limits()
    if not isinstance(stream.read(0), bytes):  # a text stream (stdin): read its bytes
        stream = getattr(stream, "buffer", None) or _encoded(stream)
    errors = 0
    for number, raw in enumerate(_lines(stream, limits.line_bytes), start=1):
        origin = f"{name}:{number}"
        item = _record(raw, origin, limits)
        if item is None:
            continue
        if isinstance(item, InputError):
            errors += 1
            if errors > limits.errors_per_file:
                yield InputError(
                    f"{name}: more than {limits.errors_per_file:,} bad lines "
                    "(NEWSARCHIVE_MAX_ERRORS_PER_FILE); stopped reading it at line "
                    f"{number:,}"
                )
                return
        yield item


def _encoded(stream: IO[str]) -> IO[bytes]:
    import io

    return io.BytesIO(stream.read().encode("utf-8", "surrogatepass"))


def _record(raw: bytes | None, origin: str, limits: Limits) -> Article | InputError | None:
    """One line as an article, an error, or None for a blank line."""
    if raw is None:
        return InputError(
            f"{origin}: the line is longer than {limits.line_bytes:,} bytes "
            "(NEWSARCHIVE_MAX_LINE_BYTES); skipped"
        )
    warning = None
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.decode("utf-8", errors="replace")
        warning = f"{origin}: not valid UTF-8 (byte {exc.start + 1:,} of the line); replaced"
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return InputError(f"{origin}: malformed JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return InputError(f"{origin}: JSON nested too deeply to read")
    try:
        article = article_from_record(record, origin)
    except InputError as exc:
        return exc
    if warning:
        article.warnings.append(warning)
    return article


def iter_json_document(text: str, name: str) -> Iterator[Article | InputError]:
    """One object or a list of objects."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}:{exc.lineno}: malformed JSON ({exc.msg} at column {exc.colno})"
        ) from exc
    except RecursionError:
        raise InputError(f"{name}: JSON nested too deeply to read") from None
    records = data if isinstance(data, list) else [data]
    for i, record in enumerate(records):
        origin = name if len(records) == 1 else f"{name}[{i}]"
        try:
            yield article_from_record(record, origin)
        except InputError as exc:
            yield exc
