"""Files and folders as articles: the format comes from the extension, or from the first bytes
when the extension says nothing. One bad file (or line) is an error for that input only.

Every read is bounded (archive/config.py's `Limits`): a file read whole may be at most
`file_bytes` (after decompression, for `.json.gz`); JSON Lines are streamed one line at a time,
each at most `line_bytes`, a `.gz` stream at most `decompressed_bytes` in all and at most 100
times its compressed size. Binary files are
refused (NUL bytes, or more than 1% control characters); text that is not valid UTF-8 is read
as Latin-1 (whole files) or with replacement characters (lines), with a warning. A folder is
walked without following symbolic links out of it, unless asked to.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from ..config import Limits, configured_limits
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
# Control characters that do not occur in text (tab, newlines and form feed do).
CONTROL_BYTES = bytes(c for c in range(32) if c not in b"\t\n\r\f\v") + b"\x7f"
MAX_CONTROL_SHARE = 0.01


def suffix_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if len(suffixes) == 2 and suffixes[1] == ".gz":
        return "".join(suffixes)
    return suffixes[-1] if suffixes else ""


def looks_binary(head: bytes) -> bool:
    """NUL bytes, or more control characters than text ever has (random bytes have ~11%)."""
    if b"\x00" in head:
        return True
    if not head:
        return False
    controls = len(head) - len(head.translate(None, CONTROL_BYTES))
    return controls > len(head) * MAX_CONTROL_SHARE


def _too_big(path: Path, size: int | None, limit: int, what: str = "the file") -> InputError:
    measured = f"{size:,} bytes" if size is not None else f"more than {limit:,} bytes"
    return InputError(
        f"{path}: {what} is {measured}; files read whole are limited to {limit:,} bytes "
        "(NEWSARCHIVE_MAX_FILE_BYTES); JSON Lines are read line by line"
    )


def read_capped(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a file read whole (decompressed if `.gz`), at most `limit` of them."""
    limit = limit or configured_limits().file_bytes
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                data = fh.read(limit + 1)
            if len(data) > limit:
                raise _too_big(path, None, limit, "decompressed, it")
            return data
        size = path.stat().st_size
        if size > limit:
            raise _too_big(path, size, limit)
        with path.open("rb") as fh:
            data = fh.read(limit + 1)  # a device or a growing file may say size 0
        if len(data) > limit:
            raise _too_big(path, None, limit)
        return data
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise InputError(f"{path}: cannot read file ({reason})") from exc


def decode_text(raw: bytes, name: str) -> tuple[str, list[str]]:
    """UTF-8 (with or without BOM), else Latin-1 with a warning; binary data is refused."""
    if looks_binary(raw[:8192]):
        raise InputError(f"{name}: looks like a binary file, not text")
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        return raw.decode("latin-1"), [
            f"{name}: not valid UTF-8 (byte {exc.start + 1:,}); read as Latin-1"
        ]


def read_text_file(path: Path) -> str:
    """Read a text file as UTF-8 (falling back to Latin-1), refusing binary and oversized
    files."""
    return decode_text(read_capped(path), str(path))[0]


class LimitedReader:
    """A decompressing stream that stops a compression bomb: it refuses to yield more than
    `limit` bytes in all, or (past the first 64 MiB) more than `MAX_RATIO` times what it has
    read of the compressed file (text compresses 3-10 fold; a bomb a thousandfold)."""

    MAX_RATIO = 100
    RATIO_AFTER = 64 << 20

    def __init__(self, raw: gzip.GzipFile, limit: int, name: str) -> None:
        self.raw = raw
        self.limit = limit
        self.name = name
        self.count = 0

    def _counted(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > self.limit:
            raise InputError(
                f"{self.name}: expands past {self.limit:,} bytes "
                "(NEWSARCHIVE_MAX_DECOMPRESSED_BYTES); stopped reading it"
            )
        if self.count > self.RATIO_AFTER:
            compressed = max(1, self.raw.fileobj.tell())
            if self.count > compressed * self.MAX_RATIO:
                raise InputError(
                    f"{self.name}: expands more than {self.MAX_RATIO} times its compressed "
                    "size (a compression bomb?); stopped reading it"
                )
        return data

    def readline(self, size: int = -1) -> bytes:
        return self._counted(self.raw.readline(size))

    def read(self, size: int = -1) -> bytes:
        return self._counted(self.raw.read(size))

    def read1(self, size: int = -1) -> bytes:
        return self._counted(self.raw.read1(size))

    def close(self) -> None:
        self.raw.close()


def open_text_stream(path: Path, limits: Limits | None = None) -> IO[bytes]:
    """Open a (possibly gzipped) JSON Lines file for reading line by line, as bytes."""
    limits = limits or configured_limits()
    try:
        if path.name.lower().endswith(".gz"):
            stream = LimitedReader(gzip.open(path, "rb"), limits.decompressed_bytes, str(path))
            head = gzip.open(path, "rb").read(8192)
        else:
            stream = path.open("rb")
            head = stream.read(8192)
            stream.seek(0)
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise InputError(f"{path}: cannot read file ({reason})") from exc
    if looks_binary(head):
        stream.close()
        raise InputError(f"{path}: looks like a binary file, not text")
    return stream


def guarded(items: Iterable[Article | InputError], name: str) -> Iterator[Article | InputError]:
    """Turn a decode failure half-way through a stream into an error instead of a crash."""
    try:
        yield from items
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        yield InputError(f"{name}: cannot read further ({exc})")
    except RecursionError:
        yield InputError(f"{name}: nested too deeply to read")


def read_file(
    path: Path, *, fetch: bool = False, **options: object
) -> Iterator[Article | InputError]:
    """Articles of one file, chosen by extension (or sniffed when it has none we know).

    With `fetch`, feed entries are replaced by the text of the pages they link to (`options`
    go to `with_pages`).
    """
    kind = suffix_of(path)
    if kind in JSONL_SUFFIXES:
        stream = open_text_stream(path)
        try:
            yield from guarded(iter_jsonl(stream, str(path)), str(path))
        finally:
            stream.close()
        return
    raw = read_capped(path)
    try:
        yield from _read_document(path, kind, raw, fetch, options)
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to read") from None


def _read_document(
    path: Path, kind: str, raw: bytes, fetch: bool, options: dict
) -> Iterator[Article | InputError]:
    if kind in JSON_SUFFIXES:
        text, warnings = decode_text(raw, str(path))
        for item in iter_json_document(text, str(path)):
            if isinstance(item, Article):
                item.warnings.extend(warnings)
            yield item
        return
    if looks_binary(raw[:8192]):
        raise InputError(f"{path}: looks like a binary file, not text")
    if kind in FEED_SUFFIXES or (kind not in HTML_SUFFIXES and looks_like_feed(raw)):
        articles = parse_feed(raw, str(path))
        if fetch:
            from .http import with_pages

            yield from with_pages(articles, **options)
        else:
            yield from articles
        return
    head = raw[:512].lstrip().lower()
    if kind in HTML_SUFFIXES or head.startswith((b"<!doctype html", b"<html")):
        yield parse_html(raw, str(path))
        return
    text, warnings = decode_text(raw, str(path))
    stripped = text.lstrip()
    if kind not in TEXT_SUFFIXES and stripped.startswith(("{", "[")):
        first_line = stripped.split("\n", 1)[0].strip()
        if first_line.endswith("}") and "\n" in stripped.strip():
            items = iter_jsonl(io.BytesIO(text.encode("utf-8")), str(path))
        else:
            items = iter_json_document(text, str(path))
        for item in items:
            if isinstance(item, Article):
                item.warnings.extend(warnings)
            yield item
        return
    article = parse_plain_text(text, str(path), article_id=path.stem)
    article.warnings.extend(warnings)
    yield article


def walk(path: Path, *, follow_links: bool = False) -> Iterator[Path | InputError]:
    """Files under a folder, sorted, skipping hidden files and types we cannot read.

    A symbolic link that leads out of the folder is reported and skipped unless
    `follow_links` (a folder of articles should not read /etc/passwd because a link says so);
    folders are visited once each, so a link cycle ends.
    """
    root = path.resolve()
    seen: set[Path] = set()

    def inside(target: Path) -> bool:
        return target == root or root in target.parents

    def visit(folder: Path) -> Iterator[Path | InputError]:
        real = folder.resolve()
        if real in seen:
            return
        seen.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            yield InputError(f"{folder}: cannot list the folder ({exc.strerror or exc})")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            child = Path(entry.path)
            try:
                is_dir = entry.is_dir()
                readable = is_dir or (entry.is_file() and suffix_of(child) in KNOWN_SUFFIXES)
                if not readable:
                    continue
                if entry.is_symlink() and not follow_links:
                    target = child.resolve()
                    if not inside(target):
                        yield InputError(
                            f"{child}: a symbolic link out of {path} (to {target}); skipped "
                            "(--follow-links reads it)"
                        )
                        continue
            except OSError as exc:
                yield InputError(f"{child}: cannot read ({exc.strerror or exc})")
                continue
            if is_dir:
                yield from visit(child)
            else:
                yield child

    yield from visit(path)
