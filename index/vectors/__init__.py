"""Vector index kinds (flat, ivf, hnsw) behind one factory, and their files."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np

from .base import EXACT_FILTER_LIMIT, VectorIndex, file_identity, stamp_path
from .flat import FlatIndex
from .hnsw import HnswIndex
from .ivf import IvfIndex, ivf_lists

KINDS: dict[str, type[VectorIndex]] = {"flat": FlatIndex, "ivf": IvfIndex, "hnsw": HnswIndex}
AUTO_THRESHOLD = 100_000  # passages; exact search there costs about what encoding the query does


def auto_kind(count: int, threshold: int = AUTO_THRESHOLD) -> str:
    """The index kind `auto` picks for this many passages."""
    return "flat" if count < threshold else "ivf"


def build_index(kind: str, dimension: int, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
    """A new index of `kind` over these vectors."""
    if kind not in KINDS:
        raise ValueError(f"index kind {kind!r} is not one of {', '.join(KINDS)}")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dimension)
    return KINDS[kind].build(dimension, ids, vectors)


def load_index(path: Path, dimension: int) -> tuple[VectorIndex, int | None]:
    """The saved index and the generation it was saved at; an empty flat index and None when
    the file is missing, unreadable or of another dimension, or when its stamp describes
    another save of it (two processes saved at once): the caller then rebuilds from the
    database instead of trusting a file and a stamp that do not belong together."""
    try:
        before = file_identity(path)
        index = faiss.read_index(str(path))
        stamp = json.loads(stamp_path(path).read_text())
        kind = stamp.get("kind", "flat")
        described = stamp.get("file", before)  # files saved before stamps named theirs
        if index.d != dimension or kind not in KINDS:
            return FlatIndex(dimension), None
        if not before == described == file_identity(path):
            return FlatIndex(dimension), None
        return KINDS[kind](dimension, index, **stamp), int(stamp["generation"])
    except (RuntimeError, OSError, ValueError, KeyError, TypeError):
        return FlatIndex(dimension), None


def saved_kind(path: Path) -> str | None:
    """The kind of the saved index, without loading it."""
    try:
        return json.loads(stamp_path(path).read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return None


__all__ = [
    "AUTO_THRESHOLD",
    "EXACT_FILTER_LIMIT",
    "KINDS",
    "FlatIndex",
    "HnswIndex",
    "IvfIndex",
    "VectorIndex",
    "auto_kind",
    "build_index",
    "ivf_lists",
    "load_index",
    "saved_kind",
]
