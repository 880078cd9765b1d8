"""Plain data carried between the pipeline stages (parse -> passages -> store -> search)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


class InputError(ValueError):
    """Bad input that the user can fix; the message names the file (and line) and the problem."""


class ArchiveError(RuntimeError):
    """The archive cannot do what was asked (e.g. it was built with another model)."""


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
class Hit:
    """One ranked search result: a passage and the article it belongs to."""

    passage_id: int
    score: float
    text: str
    position: int
    article: dict[str, Any]
    highlights: list[tuple[int, int]] = field(default_factory=list)
    snippet: str = ""
    other_passages: list[int] = field(default_factory=list)
    also_in: list[str] = field(default_factory=list)  # outlets of its syndicated copies
    copies: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["highlights"] = [list(span) for span in self.highlights]
        return data


@dataclass
class IngestReport:
    """What an ingest run did, for the one-line summary and `--json`."""

    articles: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    updated_metadata: int = 0
    duplicates: int = 0  # exact copies of a stored article, kept as extra sources
    passages_embedded: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # stored, but something was dropped

    def summary(self) -> str:
        parts = [f"{self.new} new", f"{self.changed} changed", f"{self.unchanged} unchanged"]
        if self.updated_metadata:
            parts.append(f"{self.updated_metadata} metadata updated")
        if self.duplicates:
            parts.append(f"{self.duplicates} exact copies of stored articles")
        line = (
            f"{self.articles} articles: {', '.join(parts)}; "
            f"{self.passages_embedded} passages embedded in {self.seconds:.1f} s"
        )
        if not self.passages_embedded and not self.errors:
            line += " (nothing new to embed)"
        if self.errors:
            line += f"; {len(self.errors)} errors"
        if self.warnings:
            line += f"; {len(self.warnings)} warnings"
        return line

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
