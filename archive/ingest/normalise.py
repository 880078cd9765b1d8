"""Metadata in one form for every input format: ISO 8601 UTC dates (the original string kept),
normalised URLs (so one story under two links is one article), the run's source if given."""

from __future__ import annotations

from ..dates import DateError, normalise_date
from ..records import Article
from ..urls import normalise_url


def normalise_article(
    article: Article, *, source: str | None = None, keep_titles: bool = True
) -> list[str]:
    """Normalise `article` in place; returns warnings (something was dropped, not refused)."""
    warnings = []
    if source:
        article.source = source
    if not keep_titles:  # bodies only (the dev-set archives): no heading at all
        article.title = ""
        article.metadata.pop("description", None)
    article.url = normalise_url(article.url)
    if article.date:
        article.date_raw = article.date_raw or article.date
        try:
            article.date = normalise_date(article.date)
        except DateError as exc:
            where = article.origin or article.identity()
            warnings.append(f"{where}: {exc}; stored without a date")
            article.date = None
    return warnings
