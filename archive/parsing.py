"""Read articles from files: the seed's plain-text shape and JSON / JSONL (optionally gzipped).

Each reader yields `Article`s or raises `InputError` naming the file (and line); the caller
decides whether to go on with the other inputs. HTML pages and feeds live in `web.py`.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .cleaning import clean_paragraphs, normalise_whitespace
from .models import Article, InputError

_BYLINE_RE = re.compile(r"^\s*by\s+(?P<name>.{2,120})$", re.IGNORECASE)
_KNOWN_FIELDS = {
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


def looks_binary(head: bytes) -> bool:
    return b"\x00" in head


def read_text_file(path: Path) -> str:
    """Read a text file as UTF-8 (falling back to Latin-1), refusing binary files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if looks_binary(raw[:8192]):
        raise InputError(f"{path}: looks like a binary file, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def split_paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; a text with none has one paragraph per line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if re.search(r"\n\s*\n", text):
        blocks = re.split(r"\n\s*\n", text)
        return [" ".join(line.strip() for line in block.splitlines()) for block in blocks]
    return text.split("\n")


def parse_plain_text(text: str, origin: str, article_id: str | None = None) -> Article:
    """Title line, optional `By ...` byline, then paragraphs, as in the shipped seed.

    A text file has no id field; the reader passes the file name, so editing the file
    replaces the stored article instead of adding a second one.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\n").split("\n")
    title = normalise_whitespace(lines[0]) if lines else ""
    rest = lines[1:]
    author = None
    # The byline may follow the title directly or after a blank line.
    for i, line in enumerate(rest[:3]):
        if not line.strip():
            continue
        match = _BYLINE_RE.match(line.strip())
        if match:
            author = normalise_whitespace(match.group("name"))
            rest = rest[i + 1 :]
        break
    paragraphs = clean_paragraphs(split_paragraphs("\n".join(rest)))
    if not title:
        raise InputError(f"{origin}: empty file")
    if not paragraphs:
        raise InputError(f"{origin}: article '{title[:60]}' has no body text")
    return Article(id=article_id, title=title, paragraphs=paragraphs, author=author, origin=origin)


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
    metadata = {k: v for k, v in record.items() if k not in _KNOWN_FIELDS and v is not None}
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


def open_text_stream(path: Path) -> IO[str]:
    """Open a (possibly gzipped) text file for line-by-line reading."""
    try:
        if path.name.endswith(".gz"):
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
        with path.open("rb") as fh:
            if looks_binary(fh.read(8192)):
                raise InputError(f"{path}: looks like a binary file, not text")
        return path.open("r", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read file ({exc.strerror or exc})") from exc


def guarded(items: Iterable[Article | InputError], name: str) -> Iterator[Article | InputError]:
    """Turn a decode failure half-way through a stream into an error instead of a crash."""
    try:
        yield from items
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        yield InputError(f"{name}: cannot read further ({exc})")
