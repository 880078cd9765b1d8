"""Ingest's middle stages, with embedding started early when the encoder runs elsewhere.

A local ingest encodes a batch when the writer is ready for it: the model shares the machine
with everything else, so there is nothing to gain by starting sooner. An encoder on other
machines (a Ray cluster, index/distributed/) would sit idle while the writer commits, so with
one the pipeline prepares batches further ahead (`ahead`), and `prepare` sends off, in one
submit, the texts each batch may need: passages whose vector is not stored yet, their headings
(blended in on this side), and new leads. `work` collects them, and
`embed_plan` still decides which vector each passage gets, as it does locally: a text that an
earlier batch of this run stored meanwhile reuses the stored vector, and a text the early guess
missed (an article another batch changed) is encoded there and then. So the rules, the stored
rows and the report are a local ingest's; at worst a text is embedded once more than needed,
never stored twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

from ..records import IngestReport
from .embed import Encoder, KnownVectors, embed_plan, input_hash, text_hash
from .leads import lead_sentence
from .plan import BatchPlan, Planner, Prepared

K = TypeVar("K")


class AheadEncoder(Protocol):
    """An encoder that works while the caller does something else (RayEncoder is one)."""

    @property
    def ahead(self) -> int:
        """How many ingest batches to prepare (and submit) ahead of the writer."""
        ...

    def submit(self, texts: list[str]) -> Any:
        """Start encoding `texts`; returns a handle at once."""
        ...

    def result(self, handle: Any) -> np.ndarray:
        """The vectors of a submitted batch, in order (waits for them)."""
        ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class Started:
    """A prepared batch whose new passages are being embedded already."""

    prepared: dict[str, Prepared]
    texts: list[str]
    handle: Any


class IngestStages:
    """`prepare`, `plan` and `work` for `run_in_order`, local or with an `AheadEncoder`.

    Without an encoder these are exactly the local steps (`Planner.prepare`, `Planner.plan`,
    `embed_plan` with `encode`) and `ahead` is 0.
    """

    def __init__(
        self,
        planner: Planner,
        encode: Encoder,
        known_vectors: KnownVectors,
        report: IngestReport,
        *,
        force: bool = False,
        encoder: AheadEncoder | None = None,
        heading_weight: float = 0.0,
    ) -> None:
        self.heading_weight = heading_weight
        self.planner = planner
        self.encode = encoder.encode if encoder is not None else encode
        self.known_vectors = known_vectors
        self.report = report
        self.force = force
        self.encoder = encoder
        self.ahead = encoder.ahead if encoder is not None else 0

    def prepare(self, articles: list[Any]) -> dict[str, Prepared] | Started:
        prepared = self.planner.prepare(articles)
        if self.encoder is None:
            return prepared
        chosen = self._to_send(articles, prepared)
        return Started(prepared, chosen, self.encoder.submit(chosen) if chosen else None)

    def _to_send(self, articles: list[Any], prepared: dict[str, Prepared]) -> list[str]:
        """The texts `embed_plan` will likely encode for this batch, all in one submit: the
        passages whose vector (keyed as stored: with their heading blended) is not stored
        yet, the headings of those passages, and the leads not stored yet. Each encode call
        left for `work` would cost a round trip to the cluster (a Ray Data window)."""
        entries = []  # (text, the key its stored vector has, heading to blend in)
        for article in articles:
            ready = prepared.get(article.identity())
            if ready is None or not ready.passages:
                continue
            heading = article.heading() if self.heading_weight else ""
            entries += [(t, input_hash(t, heading, self.heading_weight), heading) for t in ready.passages]  # fmt: skip
            lead = lead_sentence(ready.passages)
            if lead:
                entries.append((lead, text_hash(lead), ""))
        stored: Any = ()
        if entries and not self.force:
            stored = self.known_vectors(list(dict.fromkeys(k for _, k, _ in entries)))
        chosen: dict[str, None] = {}
        for text, key, heading in entries:
            if key not in stored:
                chosen[text] = None
                if heading:
                    chosen[heading] = None
        return list(chosen)

    def plan(
        self, articles: list[Any], prepared: dict[str, Prepared] | Started
    ) -> BatchPlan | tuple[BatchPlan, Started]:
        if isinstance(prepared, Started):
            return self.planner.plan(articles, prepared.prepared, self.report), prepared
        return self.planner.plan(articles, prepared, self.report)

    def work(self, planned: BatchPlan | tuple[BatchPlan, Started]) -> BatchPlan:
        if not isinstance(planned, tuple):
            return embed_plan(
                planned,
                self.encode,
                self.known_vectors,
                self.report,
                force=self.force,
                heading_weight=self.heading_weight,
            )
        plan, started = planned
        early = {}
        if started.handle is not None and self.encoder is not None:
            early = dict(zip(started.texts, self.encoder.result(started.handle)))
        return embed_plan(
            plan,
            self.encode,
            self.known_vectors,
            self.report,
            force=self.force,
            early=early,
            heading_weight=self.heading_weight,
        )


def encode_in_order(
    chunks: Iterable[tuple[K, list[str]]], encoder: AheadEncoder, ahead: int = 2
) -> Iterator[tuple[K, np.ndarray]]:
    """(key, vectors) per chunk of texts, in order, with `ahead` more chunks submitted while
    each one is waited for (re-embedding a whole archive on a cluster)."""
    pending: list[tuple[K, Any]] = []
    for key, texts in chunks:
        pending.append((key, encoder.submit(texts)))
        if len(pending) > ahead:
            first, handle = pending.pop(0)
            yield first, encoder.result(handle)
    for key, handle in pending:
        yield key, encoder.result(handle)
