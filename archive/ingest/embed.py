"""Embed a planned batch: passages whose exact embedding input is already stored reuse that
vector.

The heading (title and standfirst, Article.heading) reaches a passage's vector as a blend:
`normalise(v(text) + w * v(heading))`. A title in the model's input text ("Title. passage")
or a title passage of its own both measured worse for questions that are not headlines
(bench/README.md, "Titles"); at `w = 0.2` the vector still leans towards the headline's words
and meaning while the passage's own meaning dominates. `w` is recorded per archive (the
"heading scheme", archive/model_identity.py): an archive built before titles keeps `w = 0`
until `reindex --reembed`, so its vectors are never a mix of two schemes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from ..records import IngestReport, LeadRow, PassageRow
from .plan import BatchPlan

Encoder = Callable[[list[str]], np.ndarray]
KnownVectors = Callable[[Iterable[str]], dict[str, np.ndarray]]  # input hashes -> stored vectors

HEADING_WEIGHT = 0.2  # chosen on the question sets (bench/README.md, "Titles")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def input_hash(text: str, heading: str, weight: float) -> str:
    """The key a stored vector is reused by: the passage text alone when no heading is
    blended in (what every archive stored before titles), else text, heading and weight."""
    if not heading or not weight:
        return text_hash(text)
    return text_hash(f"heading {weight:g}\x00{heading}\x00{text}")


def blend(text_vectors: np.ndarray, heading_vectors: np.ndarray, weight: float) -> np.ndarray:
    """Unit vectors leaning towards the heading by `weight` (rows of headings that are empty
    should be zero vectors: those rows stay the text's own, renormalised)."""
    mixed = np.asarray(text_vectors, np.float32) + weight * np.asarray(heading_vectors, np.float32)
    norms = np.linalg.norm(mixed, axis=1, keepdims=True)
    return (mixed / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def encode_inputs(
    encode: Encoder, texts: list[str], headings: list[str], weight: float
) -> np.ndarray:
    """Vectors for passages with their headings (each distinct heading encoded once)."""
    vectors = np.asarray(encode(texts), np.float32)
    if not weight or not any(headings):
        return vectors
    distinct = list(dict.fromkeys(h for h in headings if h))
    encoded = dict(zip(distinct, np.asarray(encode(distinct), np.float32)))
    zero = np.zeros(vectors.shape[1], np.float32)
    heading_vectors = np.vstack([encoded[h] if h else zero for h in headings])
    return blend(vectors, heading_vectors, weight)


def with_early(encode: Encoder, early: Mapping[str, np.ndarray]) -> Encoder:
    """`encode` that takes the vectors of texts already encoded elsewhere from `early`."""

    def encode_rest(texts: list[str]) -> np.ndarray:
        fresh = list(dict.fromkeys(t for t in texts if t not in early))
        made = dict(zip(fresh, np.asarray(encode(fresh), np.float32))) if fresh else {}
        return np.vstack([early[t] if t in early else made[t] for t in texts]).astype(np.float32)

    return encode_rest


def embed_plan(
    plan: BatchPlan,
    encode: Encoder,
    known_vectors: KnownVectors,
    report: IngestReport,
    *,
    force: bool = False,
    heading_weight: float = 0.0,
    early: Mapping[str, np.ndarray] | None = None,
) -> BatchPlan:
    """Fill each write's passages and lead with vectors; only inputs never embedded before are
    encoded (all of them with `force`). Leads (ingest/leads.py) are embedded as plain text,
    without the heading blend, since the ranking compares them with the query on their own.
    `early`: plain vectors by text already made for this batch (on a cluster, early.py); they
    stand in for encoding those texts, never for a stored vector."""
    if early:
        encode = with_early(encode, early)
    inputs = {
        (t, item.heading): input_hash(t, item.heading, heading_weight)
        for item in plan.to_embed
        for t in item.texts
    }
    leads = {item.lead: text_hash(item.lead) for item in plan.to_embed if item.lead}
    known = {} if force else known_vectors(list(inputs.values()) + list(leads.values()))
    missing = list(dict.fromkeys(k for k, h in inputs.items() if h not in known))
    missing_leads = [t for t, h in leads.items() if h not in known]
    if missing or missing_leads:  # one encode call for a batch's passages and leads
        texts = [t for t, _ in missing] + missing_leads
        headings = [h for _, h in missing] + [""] * len(missing_leads)
        vectors = encode_inputs(encode, texts, headings, heading_weight)
        for key, vector in zip(missing, vectors):
            known[inputs[key]] = vector
        for text, vector in zip(missing_leads, vectors[len(missing) :]):
            known[leads[text]] = vector
        report.passages_embedded += len(missing)
    for item in plan.to_embed:
        article_id = item.write.article_id
        item.write.passages = []
        for position, text in enumerate(item.texts):
            key = inputs[(text, item.heading)]
            row = PassageRow(article_id, position, text, key, known[key], item.heading)
            item.write.passages.append(row)
        if item.lead:
            item.write.lead = LeadRow(item.lead, known[leads[item.lead]])
    return plan
