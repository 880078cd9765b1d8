"""Embedders that the Ray tests' actors load by dotted name (`ray_embedders:SlowHashEmbedder`);
tests/archive is on the node processes' PYTHONPATH (see test_ray.py's cluster fixture)."""

from __future__ import annotations

import time

import numpy as np

from newsarchive.index.embedders.hashing import HashEmbedder


class SlowHashEmbedder(HashEmbedder):
    """The HashEmbedder's vectors, at ~20 ms a text, so a node can be killed mid-ingest."""

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        time.sleep(0.02 * len(texts))
        return super().embed_batch(texts)
