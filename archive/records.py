"""Plain records carried between the stages: an article as read, what a write stores, what an
ingest did. Search requests and results have their own module (search/request.py), since the
HTTP API documents them too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from .ingest.fingerprint import Fingerprint


@dataclass
class Article:
    """One news article as read from any input format, before it is stored."""

    title: str
    paragraphs: list[str]
    id: str | None = None
    author: str | None = None
    source: str | None = None
    date: str | None = None  # ISO 8601 UTC once normalised
    date_raw: str | None = None
    url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    origin: str | None = None  # file (and line) it came from, for error messages
    warnings: list[str] = field(
        default_factory=list
    )  # read, but worth a look (bad UTF-8, short text)

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)

    def text_hash(self) -> str:
        """Hash of what gets embedded; an unchanged hash means nothing to re-embed."""
        payload = json.dumps([self.title, self.paragraphs], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def meta_hash(self) -> str:
        """Hash of the metadata, so a date or URL fix updates the row without re-embedding."""
        payload = json.dumps(
            [self.author, self.source, self.date, self.date_raw, self.url, self.metadata],
            ensure_ascii=False,
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def identity(self) -> str:
        """Stable article id: given id, else URL, else a hash of title and body."""
        if self.id:
            return str(self.id)
        if self.url:
            return self.url
        digest = hashlib.sha256(f"{self.title}\n{self.body}".encode()).hexdigest()
        return f"sha256:{digest[:32]}"


@dataclass
class PassageRow:
    """One passage to store, already embedded."""

    article_id: str
    position: int
    text: str
    text_hash: str
    vector: np.ndarray


@dataclass
class ArticleWrite:
    """One article to store, with its passages when its text is new or changed."""

    row: dict[str, Any]  # the columns of the `articles` table
    passages: list[PassageRow] | None  # None: metadata-only update, the passages stay
    fingerprint: Fingerprint | None = None  # with new text: how its copies are found

    @property
    def article_id(self) -> str:
        return self.row["id"]


@dataclass
class ExactCopy:
    """An article whose text is already stored under another id: kept as another source of
    that article (the "copy"), not as an article of its own."""

    article_id: str  # the stored article it is a copy of
    copy_id: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    date: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, article: Article, copy_id: str, article_id: str) -> ExactCopy:
        return cls(
            article_id=article_id,
            copy_id=copy_id,
            title=article.title,
            source=article.source,
            url=article.url,
            date=article.date,
            metadata=article.metadata,
        )


@dataclass
class StoredChange:
    """What one committed write did to the passages, for the vector view to mirror."""

    removed: np.ndarray  # passage ids
    added: np.ndarray  # passage ids
    vectors: np.ndarray  # one row per added id
    generation: int  # the database generation this write committed
    token: str = ""  # that generation's random token (the archive's lineage)

    @classmethod
    def removal(cls, removed: np.ndarray, generation: int, token: str = "") -> StoredChange:
        empty = np.zeros((0, 0), np.float32)
        return cls(removed, np.zeros(0, np.int64), empty, generation, token)


@dataclass
class IngestReport:
    """What an ingest run did, for the one-line summary and `--json`.

    `errors` and `warnings` keep the first `KEEP` messages each; `error_count` and
    `warning_count` count them all, so a file of millions of bad lines costs no memory.
    """

    KEEP: ClassVar[int] = 100

    articles: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    updated_metadata: int = 0
    exact_copies: int = 0  # copies of a stored article, kept as its other sources
    passages_embedded: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # stored, but something was dropped
    error_count: int = 0
    warning_count: int = 0

    def add_error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.KEEP:
            self.errors.append(message)

    def add_warning(self, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < self.KEEP:
            self.warnings.append(message)

    def summary(self) -> str:
        parts = [f"{self.new} new", f"{self.changed} changed", f"{self.unchanged} unchanged"]
        if self.updated_metadata:
            parts.append(f"{self.updated_metadata} metadata updated")
        if self.exact_copies:
            parts.append(f"{self.exact_copies} exact copies of stored articles")
        line = (
            f"{self.articles} articles: {', '.join(parts)}; "
            f"{self.passages_embedded} passages embedded in {self.seconds:.1f} s"
        )
        if not self.passages_embedded and not self.error_count:
            line += " (nothing new to embed)"
        if self.error_count:
            line += f"; {self.error_count:,} errors"
        if self.warning_count:
            line += f"; {self.warning_count:,} warnings"
        return line

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
