"""A deterministic embedder with no model: words hashed into a fixed number of dimensions.

For tests and for trying the archive out without a model: texts that share words get similar
vectors, which is all the archive's own logic (ingest, filters, fusion, copies, repair) needs.
It knows nothing of meaning, so it is never the default; `NEWSARCHIVE_BACKEND=hash` selects it.
"""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np

from .base import Embedder

_WORD_RE = re.compile(r"\w+", re.UNICODE)


class HashEmbedder(Embedder):
    backend = "hash"
    family = "hash"

    def __init__(self, model_path: object = None, *, dimension: int = 256, **_: object) -> None:
        super().__init__()
        self._dimension = dimension
        self.batch_size = 256

    @property
    def name(self) -> str:
        return f"hash-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return 254

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()[:16]

    def count_tokens(self, texts: list[str]) -> list[int]:
        """About what WordPiece gives for English: ~1.3 tokens per word."""
        return [int(len(t.split()) * 1.3) + 1 for t in texts]

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD_RE.findall(text.lower()):
                digest = zlib.crc32(word.encode("utf-8"))
                sign = 1.0 if digest & 1 else -1.0
                out[row, (digest >> 1) % self._dimension] += sign
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out
