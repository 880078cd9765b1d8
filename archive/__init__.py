"""Articles in, ranked passages out: parsing, passages, the SQLite store and search."""

from typing import TYPE_CHECKING

from .models import ArchiveError, Article, Hit, IngestReport, InputError

if TYPE_CHECKING:
    from .archive import Archive

__all__ = ["Archive", "ArchiveError", "Article", "Hit", "IngestReport", "InputError"]


def __getattr__(name: str):
    """`Archive` is imported on first use: it pulls in sqlite-utils (and pandas), ~0.6 s that a
    search sent to a running server (archive/remote.py) never needs."""
    if name == "Archive":
        from .archive import Archive

        return Archive
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
