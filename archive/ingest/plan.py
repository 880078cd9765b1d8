"""Decide, per article of a batch, what ingest must do: nothing, a metadata update, new
passages to embed, or record it as an exact copy of an article already stored.

Incremental ingest rests on content hashes: an unchanged text hash costs nothing, an unchanged
metadata hash skips the row, and an edited article gets all its passages replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..records import Article, ArticleWrite, ExactCopy, IngestReport
from .fingerprint import Fingerprint

Splitter = Callable[[list[str]], list[str]]  # an article's paragraphs -> passage texts


class StoredState(Protocol):
    """What planning reads of the store (store/store.py implements it)."""

    def article_states(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]: ...

    def articles_by_text_key(self, keys: Iterable[str]) -> dict[str, str]: ...

    def copy_owners(self, ids: Sequence[str]) -> dict[str, str]: ...

    def embedded_after(self, ids: Sequence[str], passage_id: int) -> set[str]: ...


@dataclass
class Prepared:
    """What an article's content alone determines, computed ahead of planning."""

    fingerprint: Fingerprint
    passages: list[str] | None  # None when the stored text hash said "unchanged"


@dataclass
class ToEmbed:
    """An article's passage texts still to embed; embedding fills `write.passages`."""

    write: ArticleWrite
    texts: list[str]


@dataclass
class BatchPlan:
    """Everything one batch writes, in one transaction."""

    writes: list[ArticleWrite] = field(default_factory=list)
    copies: list[ExactCopy] = field(default_factory=list)
    to_embed: list[ToEmbed] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.writes or self.copies)


class Planner:
    """Plans batches against the stored state; `prepare` may run ahead of earlier writes.

    `force` re-embeds unchanged articles too, except those whose passages were all written
    after passage `force_mark`: a forced run that was interrupted re-embedded those already,
    so the next forced run resumes where it stopped (`resumed` counts them).
    """

    def __init__(
        self,
        state: StoredState,
        split: Splitter,
        *,
        force: bool = False,
        force_mark: int | None = None,
    ) -> None:
        self.state = state
        self.split = split
        self.force = force
        self.force_mark = force_mark
        self.resumed = 0

    def _forced(self, ids: list[str]) -> set[str]:
        """The ids this run must re-embed even when unchanged."""
        if not self.force:
            return set()
        if self.force_mark is None:
            return set(ids)
        return set(ids) - self.state.embedded_after(ids, self.force_mark)

    def prepare(self, articles: list[Article]) -> dict[str, Prepared]:
        """Fingerprints, and passage splits for articles whose text looks new or changed.

        Uses no state that an earlier, still unwritten batch could change: the stored text
        hash is only a hint of which articles need splitting, and `plan` splits any article
        the hint missed.
        """
        ids = [a.identity() for a in articles]
        stored = self.state.article_states(ids)
        forced = self._forced(ids)
        prepared = {}
        for article, article_id in zip(articles, ids):
            texts = None
            if article_id in forced or stored.get(article_id, ("",))[0] != article.text_hash():
                texts = self.split(article.paragraphs)
            prepared[article_id] = Prepared(
                Fingerprint.of(article.title, article.paragraphs), texts
            )
        return prepared

    def plan(
        self, articles: list[Article], prepared: dict[str, Prepared], report: IngestReport
    ) -> BatchPlan:
        """Decide per article; must run after every earlier batch is written."""
        ids = [a.identity() for a in articles]
        states = self.state.article_states(ids)
        owners = self.state.articles_by_text_key(prepared[i].fingerprint.key for i in ids)
        copy_owners = self.state.copy_owners(ids)
        forced = self._forced(ids)
        plan = BatchPlan()
        for article, article_id in zip(articles, ids):
            report.articles += 1
            fingerprint = prepared[article_id].fingerprint
            owner = owners.setdefault(fingerprint.key, article_id)
            if owner != article_id and article_id not in states:
                # The same text is stored under another id (a syndicated story): one article,
                # one more source.
                if copy_owners.get(article_id) == owner:
                    report.unchanged += 1
                else:
                    report.exact_copies += 1
                    plan.copies.append(ExactCopy.of(article, article_id, owner))
                continue
            text_hash, meta_hash = article.text_hash(), article.meta_hash()
            row = {
                "id": article_id,
                "title": article.title,
                "author": article.author,
                "source": article.source,
                "date": article.date,
                "date_raw": article.date_raw,
                "url": article.url,
                "metadata": article.metadata,
                "text_hash": text_hash,
                "meta_hash": meta_hash,
            }
            state = states.get(article_id)
            if state and state[0] == text_hash and article_id not in forced:
                if self.force:
                    self.resumed += 1
                if state[1] == meta_hash:
                    report.unchanged += 1
                else:
                    report.updated_metadata += 1
                    plan.writes.append(ArticleWrite(row, None))
                continue
            if state:
                report.changed += 1
            else:
                report.new += 1
            texts = prepared[article_id].passages
            if texts is None:  # the hint said unchanged, then an earlier batch changed it
                texts = self.split(article.paragraphs)
            write = ArticleWrite(row, [], fingerprint)
            plan.writes.append(write)
            plan.to_embed.append(ToEmbed(write, texts))
        return plan
