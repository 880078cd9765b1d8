"""The torch backend: the model run by sentence-transformers itself.

Importing sentence_transformers costs seconds, so nothing here is imported until a vector is
needed; token counting uses the model's own `tokenizer.json` through the light `tokenizers`
package, which loads in milliseconds.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np

from .base import ModelError, default_threads
from .model_folder import FolderEmbedder


class TorchEmbedder(FolderEmbedder):
    """A local sentence-transformers folder on torch (CPU; `device="cuda"` on a GPU worker)."""

    backend = "torch"
    family = "fp32"

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int | None = None,
        threads: int | None = None,
        device: str = "cpu",
        **_: object,
    ) -> None:
        super().__init__(model_path)
        self.batch_size = batch_size or 32
        self.threads = default_threads(threads)
        self.device = device

    def count_tokens(self, texts: list[str]) -> list[int]:
        if self._counter is None:  # a folder without tokenizer.json: the model's own tokenizer
            return [len(ids) for ids in self.model.tokenizer(texts)["input_ids"]]
        return super().count_tokens(texts)

    def load(self) -> None:
        _ = self.model

    @cached_property
    def model(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        try:
            return SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
        except Exception as exc:  # a folder that is not a sentence-transformers model
            raise ModelError(f"{self.path}: cannot load embedding model ({exc})") from exc

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        # torch and faiss share one OpenMP runtime, whose thread count is per calling thread;
        # faiss is set to one thread (index/vectors/base.py), which would halve torch here.
        torch.set_num_threads(self.threads)
        vectors = self.model.encode(
            texts,
            batch_size=len(texts),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
