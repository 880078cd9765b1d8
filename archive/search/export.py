"""Export: every article of a matching set (a query's or a browse's), not one page, as JSONL or
CSV lines, streamed.

The set is walked in date order by keyset pages of `PAGE` articles, each read in its own short
snapshot, so memory stays bounded and the archive is never locked for the length of a download;
the number of records equals the response's `total` (CSV adds one header line). Fields are
chosen: the article's columns, `also_in` (outlets of its copies), `text` (its passages, in
order), `metadata` (all of it) or any metadata field by name.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from ..errors import InputError
from .collapse import also_in
from .cursor import DateKey
from .filters import FIELD_RE
from .matching import MatchScope, MatchSets

FORMATS = ("jsonl", "csv")
DEFAULT_FIELDS = ("id", "title", "date", "source", "url")
COLUMNS = ("id", "title", "author", "source", "date", "url", "passage_count")
COMPUTED = ("also_in", "text", "metadata")
MAX_FIELDS = 50
PAGE = 1000
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); such
# text from a hostile page is written with a leading apostrophe, as OWASP advises.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportSource(Protocol):
    def passages_of(self, article_ids: Sequence[str]) -> list[tuple[int, str, int, str]]: ...

    def copies_of(self, article_id: str) -> list[dict[str, Any]]: ...


def check_fields(fields: str | Sequence[str] | None) -> list[str]:
    """Field names from a list or a comma-separated string; an InputError names a bad one."""
    if fields is None:
        return list(DEFAULT_FIELDS)
    names = (
        fields.split(",") if isinstance(fields, str) else [n for f in fields for n in f.split(",")]
    )
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise InputError("fields: none given (e.g. id,title,date,source,url)")
    for name in names:
        if not FIELD_RE.match(name):
            raise InputError(f"fields: {name[:80]!r} is not a field name")
    names = list(dict.fromkeys(names))
    if len(names) > MAX_FIELDS:
        raise InputError(f"fields: {len(names)} asked; at most {MAX_FIELDS}")
    return names


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise InputError(f"format: {str(name)[:40]!r} is not one of {', '.join(FORMATS)}")
    return name


def walk(matches: MatchSets, scope: MatchScope, order: str, page: int = PAGE) -> Iterator[list]:
    """The matching set in date order, a page of article rows at a time."""
    key: DateKey | None = None
    while True:
        with matches.open(scope) as view:
            rows = view.page(order, key, page)
        if rows:
            yield rows
        if len(rows) < page:
            return
        key = DateKey(rows[-1]["date"], rows[-1]["id"])


def records(
    pages: Iterable[list[dict[str, Any]]], fields: list[str], source: ExportSource
) -> Iterator[dict[str, Any]]:
    """Each article as a dict of the chosen fields."""
    for rows in pages:
        texts: dict[str, list[str]] = {}
        if "text" in fields:
            for _, article_id, _, text in source.passages_of([r["id"] for r in rows]):
                texts.setdefault(article_id, []).append(text)
        for row in rows:
            try:
                metadata = json.loads(row.get("metadata") or "{}")
            except ValueError:
                metadata = {}
            record: dict[str, Any] = {}
            for field in fields:
                if field in COLUMNS:
                    record[field] = row.get(field)
                elif field == "also_in":
                    record[field] = also_in(row, source.copies_of(row["id"]))
                elif field == "text":
                    record[field] = "\n\n".join(texts.get(row["id"], []))
                elif field == "metadata":
                    record[field] = metadata
                else:
                    record[field] = metadata.get(field) if isinstance(metadata, dict) else None
            yield record


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        text = "; ".join("" if v is None else str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def lines(items: Iterable[dict[str, Any]], fields: list[str], fmt: str) -> Iterator[str]:
    """JSONL (one object per line) or CSV (a header, then one record per article)."""
    if fmt == "jsonl":
        for item in items:
            yield json.dumps(item, ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def row(values: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield row(fields)
    for item in items:
        yield row([_cell(item.get(f)) for f in fields])
