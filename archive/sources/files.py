"""Files and folders as articles: the format comes from the extension, or from the first bytes
when the extension says nothing. One bad file (or line) is an error for that input only."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from ..errors import InputError
from ..records import Article
from .feeds import looks_like_feed, parse_feed
from .html import parse_html
from .json_records import iter_json_document, iter_jsonl
from .text import parse_plain_text

TEXT_SUFFIXES = {".txt", ".text", ".md"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz"}
JSON_SUFFIXES = {".json", ".json.gz"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf"}
KNOWN_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES | JSON_SUFFIXES | HTML_SUFFIXES | FEED_SUFFIXES


def suffix_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if len(suffixes) == 2 and suffixes[1] == ".gz":
        return "".join(suffixes)
    return suffixes[-1] if suffixes else ""


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


def read_file(path: Path, *, fetch: bool = False) -> Iterator[Article | InputError]:
    """Articles of one file, chosen by extension (or sniffed when it has none we know).

    With `fetch`, feed entries are replaced by the text of the pages they link to.
    """
    kind = suffix_of(path)
    if kind in JSONL_SUFFIXES:
        yield from guarded(iter_jsonl(open_text_stream(path), str(path)), str(path))
        return
    if kind in JSON_SUFFIXES:
        if kind.endswith(".gz"):
            text = open_text_stream(path).read()
        else:
            text = read_text_file(path)
        yield from iter_json_document(text, str(path))
        return
    raw = path.read_bytes()
    if looks_binary(raw[:8192]):
        raise InputError(f"{path}: looks like a binary file, not text")
    if kind in FEED_SUFFIXES or (kind not in HTML_SUFFIXES and looks_like_feed(raw)):
        articles = parse_feed(raw, str(path))
        if fetch:
            from .http import with_pages

            yield from with_pages(articles)
        else:
            yield from articles
        return
    head = raw[:512].lstrip().lower()
    if kind in HTML_SUFFIXES or head.startswith((b"<!doctype html", b"<html")):
        yield parse_html(raw, str(path))
        return
    text = read_text_file(path)
    stripped = text.lstrip()
    if kind not in TEXT_SUFFIXES and stripped.startswith(("{", "[")):
        first_line = stripped.split("\n", 1)[0].strip()
        if first_line.endswith("}") and "\n" in stripped.strip():
            yield from iter_jsonl(io.StringIO(text), str(path))
        else:
            yield from iter_json_document(text, str(path))
        return
    yield parse_plain_text(text, str(path), article_id=path.stem)


def walk(path: Path) -> Iterator[Path]:
    """Files under a folder, sorted, skipping hidden files and types we cannot read."""
    for child in sorted(path.rglob("*")):
        if any(part.startswith(".") for part in child.relative_to(path).parts):
            continue
        if child.is_file() and suffix_of(child) in KNOWN_SUFFIXES:
            yield child
