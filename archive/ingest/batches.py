"""Items to ingest (articles, records, read errors) as batches of normalised articles."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..config import configured_limits
from ..errors import InputError
from ..records import Article, IngestReport
from ..sources import article_from_record
from .normalise import normalise_article

BATCH_ARTICLES = 64  # one database transaction each; a killed run leaves whole batches


def batches(
    items: Iterable[Article | InputError | dict[str, Any]],
    report: IngestReport,
    *,
    source: str | None = None,
    keep_titles: bool = True,
    size: int = BATCH_ARTICLES,
) -> Iterator[list[Article]]:
    """Parsed, normalised articles in batches; errors go to `report`, the rest goes on.

    An article seen twice starts a new batch, so the later copy is judged against the earlier
    one once that is stored. An article longer than `Limits.article_chars` is an error: its
    passages and vectors would cost memory in proportion.
    """
    max_chars = configured_limits().article_chars
    batch: dict[str, Article] = {}
    for item in items:
        if isinstance(item, dict):
            try:
                item = article_from_record(
                    item, f"article {report.articles + report.error_count + 1}"
                )
            except InputError as exc:
                item = exc
        if isinstance(item, Article):
            chars = len(item.title) + sum(len(p) for p in item.paragraphs)
            if chars > max_chars:
                where = item.origin or item.identity()
                item = InputError(
                    f"{where}: the article is {chars:,} characters; the limit is {max_chars:,} "
                    "(NEWSARCHIVE_MAX_ARTICLE_CHARS)"
                )
        if isinstance(item, InputError):
            report.add_error(str(item))
            continue
        for message in item.warnings:
            report.add_warning(message)
        for message in normalise_article(item, source=source, keep_titles=keep_titles):
            report.add_warning(message)
        key = item.identity()
        if key in batch:
            yield list(batch.values())
            batch = {}
        batch[key] = item
        if len(batch) >= size:
            yield list(batch.values())
            batch = {}
    if batch:
        yield list(batch.values())
