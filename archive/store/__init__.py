"""The store: SQLite as the source of truth (articles, passages, vectors, copies, feeds, FTS5),
its schema as migrations."""

from .feeds import FeedPolls
from .fts import KeywordIndex
from .leads import LeadIndex
from .store import Store

__all__ = ["FeedPolls", "KeywordIndex", "LeadIndex", "Store"]
