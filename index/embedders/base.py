"""What every embedding backend is: texts in, L2-normalised float32 vectors out.

A backend implements `embed_batch` (one batch) and says what it is (`name`, `dimension`,
`max_tokens`, `count_tokens`, `fingerprint`); the base does the rest the same way for all of
them: batches of similar length (sorted by size, so little time goes on padding), one encode at
a time per embedder, and the query path.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod

import numpy as np


class ModelError(RuntimeError):
    """The embedding model cannot be found, loaded or chosen; the message says which."""


def default_threads(configured: int | None = None) -> int:
    """Threads for a model: the configured number, else every usable core up to 4."""
    if configured:
        return max(1, int(configured))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, cores or 1))


class Embedder(ABC):
    """Base of every backend. Subclasses set `backend` and `family` and implement the rest.

    The factory calls `cls(model_path, batch_size=, threads=, cache_dir=, **options)`; a
    backend ignores the arguments it has no use for.

    `family` names the vectors' kind: two backends of one family make the same vectors for
    the same model (torch and onnx are both "fp32") and may share an archive.
    """

    backend: str = ""
    family: str = "fp32"
    # How a family's vectors are made beyond the model (the int8 quantisation recipe): vectors
    # of two recipes differ, so the archive records it and refuses another. "" for exact ones.
    recipe: str = ""
    batch_size: int = 8

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @property
    @abstractmethod
    def name(self) -> str:
        """The model's name, recorded in the archive."""

    @property
    @abstractmethod
    def dimension(self) -> int: ...

    @property
    @abstractmethod
    def max_tokens(self) -> int:
        """Tokens the model sees per text (passages are split to fit)."""

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Identity of the model (not the backend): vectors of two fingerprints never mix."""

    @abstractmethod
    def count_tokens(self, texts: list[str]) -> list[int]: ...

    @abstractmethod
    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Vectors of one batch, in order."""

    def load(self) -> None:  # noqa: B027 - a backend with nothing to load keeps this
        """Load the model now (a cold load is not search time); loading is lazy otherwise."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors of any number of texts, in order, batched by length."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with self._lock:
            self.load()
            for start in range(0, len(texts), self.batch_size):
                chunk = order[start : start + self.batch_size]
                out[chunk] = self.embed_batch([texts[i] for i in chunk])
        return out

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode([query])
