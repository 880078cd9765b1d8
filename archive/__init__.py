"""Articles in, ranked passages out: parsing, passages, the SQLite store and search."""

from .archive import Archive
from .models import Article, Hit, IngestReport, InputError

__all__ = ["Archive", "Article", "Hit", "IngestReport", "InputError"]
