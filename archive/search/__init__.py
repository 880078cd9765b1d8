"""Search: the request and response every face shares, and the stages from candidates to a page
of results (retrieve, fuse, group, collapse, snippet). Nothing here touches SQLite or FAISS
directly: the facade hands the searcher what it reads."""

from .filters import Filters
from .request import ArticleRef, Copy, Hit, SearchRequest, SearchResponse
from .searcher import Searcher

__all__ = ["ArticleRef", "Copy", "Filters", "Hit", "SearchRequest", "SearchResponse", "Searcher"]
