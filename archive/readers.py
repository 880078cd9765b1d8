"""Turn the PATH arguments of `ingest` into a stream of articles (or per-input errors).

Folders are walked recursively; the format comes from the extension, or from the first bytes
when the extension says nothing. One bad file (or line) is an error for that input only.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

from .models import Article, InputError
from .parsing import (
    guarded,
    iter_json_document,
    iter_jsonl,
    looks_binary,
    open_text_stream,
    parse_plain_text,
    read_text_file,
)
from .web import looks_like_feed, parse_feed, parse_html

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
            from .feeds import with_pages

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


def iter_inputs(paths: list[str], *, fetch: bool = False) -> Iterator[Article | InputError]:
    """Every article named by the arguments, with errors in-line so nothing stops the run."""
    for argument in paths:
        if argument == "-":
            yield from guarded(iter_jsonl(sys.stdin, "<stdin>"), "<stdin>")
            continue
        if argument.startswith(("http://", "https://")):
            from .feeds import fetch_articles

            try:
                yield from fetch_articles(argument, fetch_pages=fetch)
            except InputError as exc:
                yield exc
            continue
        path = Path(argument).expanduser()
        if not path.exists():
            yield InputError(f"{argument}: no such file or folder")
            continue
        files = walk(path) if path.is_dir() else [path]
        for file in files:
            try:
                yield from read_file(file, fetch=fetch)
            except InputError as exc:
                yield exc
            except OSError as exc:
                yield InputError(f"{file}: cannot read file ({exc.strerror or exc})")
