"""Vector index kinds (flat, ivf, hnsw) behind one factory, and their files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .base import EXACT_FILTER_LIMIT, VectorIndex, files_locked, stamp_path
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


def load_saved(path: Path, dimension: int) -> tuple[VectorIndex, dict[str, Any] | None]:
    """The saved index and its stamp (generation, lineage, kind); an empty flat index and None
    when the file is missing, unreadable or of another dimension."""
    try:
        with files_locked(path, exclusive=False):
            index = faiss.read_index(str(path))
            stamp = json.loads(stamp_path(path).read_text())
        kind = stamp.get("kind", "flat")
        if index.d != dimension or kind not in KINDS:
            return FlatIndex(dimension), None
        int(stamp["generation"])
        return KINDS[kind](dimension, index, **stamp), stamp
    except (RuntimeError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return FlatIndex(dimension), None


def load_index(path: Path, dimension: int) -> tuple[VectorIndex, int | None]:
    """The saved index and the generation it was saved at (see `load_saved`)."""
    index, stamp = load_saved(path, dimension)
    return index, int(stamp["generation"]) if stamp else None


def read_stamp(path: Path) -> dict[str, Any] | None:
    """The saved index's stamp alone, without loading the index."""
    try:
        stamp = json.loads(stamp_path(path).read_text())
        return stamp if isinstance(stamp, dict) else None
    except (OSError, ValueError):
        return None


def copy_files(path: Path, dest: Path) -> dict[str, Any] | None:
    """Copy the saved index and its stamp to the folder `dest` as one consistent pair (under
    the files' shared lock); returns the stamp, or None when there is no readable index."""
    import shutil

    with files_locked(path, exclusive=False):
        stamp = read_stamp(path)
        if stamp is None or not path.exists():
            return None
        shutil.copyfile(path, dest / path.name)
        shutil.copyfile(stamp_path(path), dest / stamp_path(path).name)
    return stamp


def saved_kind(path: Path) -> str | None:
    """The kind of the saved index, without loading it."""
    stamp = read_stamp(path)
    return stamp.get("kind") if stamp else None


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
    "copy_files",
    "files_locked",
    "ivf_lists",
    "load_index",
    "load_saved",
    "read_stamp",
    "saved_kind",
]
