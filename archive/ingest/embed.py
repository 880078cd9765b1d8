"""Embed a planned batch: passages whose exact text is already stored reuse that vector."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from ..records import IngestReport, PassageRow
from .plan import BatchPlan

Encoder = Callable[[list[str]], np.ndarray]
KnownVectors = Callable[[Iterable[str]], dict[str, np.ndarray]]  # text hashes -> stored vectors


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_plan(
    plan: BatchPlan,
    encode: Encoder,
    known_vectors: KnownVectors,
    report: IngestReport,
    *,
    force: bool = False,
    early: Mapping[str, np.ndarray] | None = None,
) -> BatchPlan:
    """Fill each write's passages with vectors; only texts never embedded before are encoded
    (all of them with `force`). `early`: vectors by text already made for this batch (on a
    cluster, early.py); they stand in for encoding, never for a stored vector."""
    hashes = {t: text_hash(t) for item in plan.to_embed for t in item.texts}
    known = {} if force else known_vectors(hashes.values())
    missing = list(dict.fromkeys(t for t in hashes if hashes[t] not in known))
    if missing:
        fresh = [t for t in missing if t not in early] if early else missing
        if fresh:
            vectors = encode(fresh)
            for text, vector in zip(fresh, vectors):
                known[hashes[text]] = vector
        if early:
            for text in missing:
                if text in early:
                    known[hashes[text]] = early[text]
        report.passages_embedded += len(missing)
    for item in plan.to_embed:
        article_id = item.write.article_id
        item.write.passages = [
            PassageRow(article_id, position, text, hashes[text], known[hashes[text]])
            for position, text in enumerate(item.texts)
        ]
    return plan
