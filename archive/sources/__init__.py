"""Sources: the arguments of `ingest` (files, folders, URLs, stdin) as a stream of articles.

Each input yields `Article`s or `InputError`s in line, so one bad file (or line) never stops
the others. Nothing here touches the store or the model.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError
from ..records import Article
from .files import guarded, read_file, walk
from .json_records import article_from_record, iter_jsonl

__all__ = ["article_from_record", "read_inputs"]


def read_inputs(
    paths: list[str],
    *,
    fetch: bool = False,
    allow_private: bool | None = None,
    follow_links: bool = False,
) -> Iterator[Article | InputError]:
    """Every article named by the arguments, with errors in line so nothing stops the run.

    URLs (and, with `fetch`, the pages feed entries link to) are fetched only from public
    addresses unless `allow_private`; folders are walked without leaving them through symbolic
    links unless `follow_links`.
    """
    for argument in paths:
        if argument == "-":
            yield from guarded(iter_jsonl(sys.stdin, "<stdin>"), "<stdin>")
            continue
        if argument.startswith(("http://", "https://")):
            from .http import fetch_articles

            try:
                yield from fetch_articles(argument, fetch_pages=fetch, allow_private=allow_private)
            except InputError as exc:
                yield exc
            except RecursionError:
                yield InputError(f"{argument}: nested too deeply to read")
            continue
        path = Path(argument).expanduser()
        if not path.exists():
            yield InputError(f"{argument}: no such file or folder")
            continue
        files = walk(path, follow_links=follow_links) if path.is_dir() else [path]
        for file in files:
            if isinstance(file, InputError):
                yield file
                continue
            try:
                yield from read_file(file, fetch=fetch, allow_private=allow_private)
            except InputError as exc:
                yield exc
            except OSError as exc:
                yield InputError(f"{file}: cannot read file ({exc.strerror or exc})")
