"""Keyword retrieval for large archives: a tantivy index (BM25 with block-max WAND, so a query
does not score every match) fed with the terms SQLite's own FTS5 tokenizer makes, kept in step
with the database like the FAISS view, and switched on by size. FTS5 (archive/store/fts.py)
answers small archives, and any query this index cannot answer exactly.

- analysis.py: text -> FTS5's terms; a query -> its OR-ed terms and phrases
- tantivy_index.py: the tantivy index itself (fields, writes, filtered top-k search)
- view.py: the index of an archive folder: caught up, rebuilt aside, switched on by size
"""

from ..article_fields import date_key
from .analysis import Analyzer, parse_query
from .tantivy_index import KeywordFilter, KeywordRow, UnsupportedFilter
from .view import KEYWORD_THRESHOLD, KeywordSource, KeywordView

__all__ = [
    "KEYWORD_THRESHOLD",
    "Analyzer",
    "KeywordFilter",
    "KeywordRow",
    "KeywordSource",
    "KeywordView",
    "UnsupportedFilter",
    "date_key",
    "parse_query",
]
