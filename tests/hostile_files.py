"""A set of hostile input files, made on the spot (nothing big is committed): compression
bombs, endless lines, files far over the limits, nesting that breaks parsers, binary data
without NUL bytes, text that is not UTF-8, lone surrogates. Every one of them must be refused
with a message naming it, in bounded memory, storing nothing. Used by
tests/archive/test_hostile_inputs.py and bench/hostile.py."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import random
import zlib
from collections.abc import Callable
from pathlib import Path

MB = 1 << 20


def _bomb(path: Path) -> str:
    """4 GiB of one letter (no newline, no NUL) in ~4 MB: one gzip member repeated."""
    member = gzip.compress(b"a" * (64 * MB), compresslevel=9)
    with path.open("wb") as handle:
        for _ in range(64):
            handle.write(member)
    return "a 4 MB .jsonl.gz of one 4 GiB line"


def _zero_bomb(path: Path) -> str:
    member = gzip.compress(b"\0" * (64 * MB), compresslevel=9)
    with path.open("wb") as handle:
        for _ in range(16):
            handle.write(member)
    return "a .json.gz of 1 GiB of zeros"


def _bomb_lines(path: Path) -> str:
    """Valid-looking JSON lines that expand to 4 GiB (fits the line limit, not the total)."""
    line = (json.dumps({"id": "x", "body": ""}) + "\n").encode()
    block = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = block.compress(line * (64 * MB // len(line))) + block.flush()
    with path.open("wb") as handle:
        for _ in range(64):
            handle.write(member)
    return "a .jsonl.gz of 4 GiB of short JSON lines"


def _bad_lines(path: Path) -> str:
    path.write_bytes(gzip.compress(b"x\n" * 31_000_000, compresslevel=9))
    return "a 60 KB .jsonl.gz of 31 million malformed lines"


def _huge_text(path: Path) -> str:
    with path.open("wb") as handle:
        handle.truncate(200 * MB)  # sparse: costs no disk
    return "a 200 MB text file"


def _huge_line(path: Path) -> str:
    with path.open("w") as handle:
        handle.write('{"id": "big", "body": "')
        chunk = "word " * 200_000
        for _ in range(50):
            handle.write(chunk)
        handle.write('"}\n')
    return "one 50 MB JSON line"


def _big_article(path: Path) -> str:
    path.write_text(json.dumps({"id": "long", "body": "word " * 400_000}) + "\n")
    return "a 2 MB article (within the line limit, over the article limit)"


def _deep_jsonl(path: Path) -> str:
    path.write_text("[" * 200_000 + "]" * 200_000 + "\n" + '{"a": ' * 50_000 + "1" + "}" * 50_000)
    return "JSON lines nested 200,000 deep"


def _deep_json(path: Path) -> str:
    path.write_text('{"body": ' * 100_000 + '"x"' + "}" * 100_000)
    return "a JSON document nested 100,000 deep"


def _deep_html(path: Path) -> str:
    path.write_text(
        "<html><body>" + "<div>" * 100_000 + "text" + "</div>" * 100_000 + "</body></html>"
    )
    return "an HTML page nested 100,000 deep"


def _random_bytes(path: Path) -> str:
    rng = random.Random(0)
    path.write_bytes(bytes(rng.randrange(1, 256) for _ in range(20_000)))  # no NUL
    return "20 KB of random bytes without NUL"


def _surrogates(path: Path) -> str:
    path.write_text(
        '{"id": "s1", "title": "Lone \\ud800", "body": "Text."}\n'
        '{"id": "s2", "body": "Fine.", "tags": ["\\udfff"]}\n'
    )
    return "lone UTF-16 surrogates in JSON"


def _entities(path: Path) -> str:
    lol = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)
    )
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE rss [{lol}<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<rss version="2.0"><channel><title>&lol9;</title><item><title>&xxe;</title>'
        "<description>&lol9;</description></item></channel></rss>"
    )
    return "an RSS feed with entity expansion and an external entity"


def _truncated_gzip(path: Path) -> str:
    data = gzip.compress((json.dumps({"id": "t", "body": "x " * 50_000}) + "\n").encode())
    path.write_bytes(data[: len(data) // 2])
    return "a truncated .jsonl.gz"


def _empty(path: Path) -> str:
    path.write_text("\n\n   \n")
    return "a text file of blank lines"


def _no_text(path: Path) -> str:
    # a headline alone is stored (headline_only); neither title nor text is refused
    path.write_text(json.dumps([{"id": f"e{i}", "title": " ", "body": "  "} for i in range(3)]))
    return "articles without title or text"


# file name -> maker (writes the file, returns what it is)
MAKERS: dict[str, Callable[[Path], str]] = {
    "bomb.jsonl.gz": _bomb,
    "zeros.json.gz": _zero_bomb,
    "bomb-lines.jsonl.gz": _bomb_lines,
    "bad-lines.jsonl.gz": _bad_lines,
    "huge.txt": _huge_text,
    "huge-line.jsonl": _huge_line,
    "long-article.jsonl": _big_article,
    "deep.jsonl": _deep_jsonl,
    "deep.json": _deep_json,
    "deep.html": _deep_html,
    "random.txt": _random_bytes,
    "surrogates.jsonl": _surrogates,
    "entities.rss": _entities,
    "truncated.jsonl.gz": _truncated_gzip,
    "empty.txt": _empty,
    "no-text.json": _no_text,
}


def make_all(folder: Path) -> dict[Path, str]:
    """Write every hostile file into `folder`; path -> what it is."""
    folder.mkdir(parents=True, exist_ok=True)
    return {folder / name: make(folder / name) for name, make in MAKERS.items()}


def make_fifo(folder: Path) -> Path | None:
    """A named pipe with an article's extension (reading it would block for ever)."""
    path = folder / "pipe.jsonl"
    try:
        os.mkfifo(path)
    except (AttributeError, OSError):
        return None
    return path


class EndlessAnswer(http.server.BaseHTTPRequestHandler):
    """An HTTP server's answer that never ends (HTML, 65 KB at a time): a fetch must stop at
    its size cap."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.end_headers()
        chunk = b"<p>" + b"word " * 13_000 + b"</p>"
        try:
            while True:
                self.wfile.write(chunk)
        except OSError:
            pass

    def log_message(self, *args) -> None:
        pass
