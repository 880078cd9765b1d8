"""Embed a planned batch: passages whose exact text is already stored reuse that vector."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

import numpy as np

from ..records import IngestReport, LeadRow, PassageRow
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
) -> BatchPlan:
    """Fill each write's passages and lead with vectors; only texts never embedded before are
    encoded (all of them with `force`), leads in the same call as the passages."""
    hashes = {t: text_hash(t) for item in plan.to_embed for t in item.texts}
    leads = {item.lead for item in plan.to_embed if item.lead} - hashes.keys()
    hashes.update({t: text_hash(t) for t in leads})
    known = {} if force else known_vectors(hashes.values())
    missing = list(dict.fromkeys(t for t in hashes if hashes[t] not in known))
    if missing:
        vectors = encode(missing)
        for text, vector in zip(missing, vectors):
            known[hashes[text]] = vector
        report.passages_embedded += sum(1 for t in missing if t not in leads)
    for item in plan.to_embed:
        article_id = item.write.article_id
        item.write.passages = [
            PassageRow(article_id, position, text, hashes[text], known[hashes[text]])
            for position, text in enumerate(item.texts)
        ]
        if item.lead:
            item.write.lead = LeadRow(item.lead, known[hashes[item.lead]])
    return plan
