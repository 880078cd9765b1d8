"""Articles in, ranked passages out: the public names of the library.

    from newsarchive.archive import Archive, SearchRequest
    with Archive("~/news") as archive:
        archive.ingest(["seeds/"])
        for hit in archive.search("US troops leaving Iraq", limit=5).hits: ...

The CLI and the HTTP API import only what this module exports.
"""

from typing import TYPE_CHECKING

from ..index.distributed import RayMissingError, ray_available, require_ray
from ..index.distributed.cluster import check_address as check_ray_address
from ..index.distributed.cluster import session as ray_session
from ..index.embedders.base import ModelError
from . import config
from .errors import ArchiveBusy, ArchiveDamaged, ArchiveError, InputError, StorageFull
from .records import Article, IngestReport
from .search.browse import ArticleSummary, BrowseRequest, BrowseResponse
from .search.export import FORMATS as EXPORT_FORMATS
from .search.export import MEDIA_TYPES as EXPORT_MEDIA_TYPES
from .search.facets import Facet, FacetsResponse
from .search.filters import FIELD_RE, parse_where
from .search.request import (
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    MODES,
    NOT_BLANK,
    ArticleRef,
    Copy,
    Hit,
    SearchRequest,
    SearchResponse,
)
from .search.request import describe as describe_errors
from .search.similar import SimilarRequest
from .search.timeline import Timeline, TimelineOption, TimelineResponse
from .search.watches import NAME_RE, ChecksResponse, Watch, check_name
from .textcheck import surrogate_field, surrogate_message

if TYPE_CHECKING:
    from .facade import Archive
    from .ingest.follow import FeedFollower, Poll, parse_interval
    from .remote import RemoteArchive, RemoteError

__all__ = [
    "FIELD_RE",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "MODES",
    "NAME_RE",
    "NOT_BLANK",
    "Archive",
    "ArchiveBusy",
    "ArchiveDamaged",
    "ArchiveError",
    "Article",
    "ArticleRef",
    "ArticleSummary",
    "BrowseRequest",
    "BrowseResponse",
    "ChecksResponse",
    "Copy",
    "EXPORT_FORMATS",
    "EXPORT_MEDIA_TYPES",
    "Facet",
    "FacetsResponse",
    "FeedFollower",
    "Hit",
    "IngestReport",
    "InputError",
    "ModelError",
    "Poll",
    "RayMissingError",
    "RemoteArchive",
    "RemoteError",
    "SearchRequest",
    "SearchResponse",
    "SimilarRequest",
    "Timeline",
    "TimelineOption",
    "TimelineResponse",
    "Watch",
    "StorageFull",
    "config",
    "describe_errors",
    "parse_interval",
    "check_name",
    "check_ray_address",
    "parse_where",
    "ray_available",
    "ray_session",
    "require_ray",
    "surrogate_field",
    "surrogate_message",
]


def __getattr__(name: str):
    """`Archive` is imported on first use: it pulls in sqlite-utils and FAISS, which a search
    sent to a running server (`RemoteArchive`) never needs."""
    if name == "Archive":
        from .facade import Archive

        return Archive
    if name in ("RemoteArchive", "RemoteError"):
        from . import remote

        return getattr(remote, name)
    if name in ("FeedFollower", "Poll", "parse_interval"):
        from .ingest import follow

        return getattr(follow, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
