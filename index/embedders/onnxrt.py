"""The onnxruntime backends: the same model, faster on CPU, and far faster to start.

The transformer is exported once per machine (onnx_export.py) into the per-user cache, in a
folder named after the model's fingerprint and the export version, so every archive shares it,
an updated model is exported anew and a stale export is never used. Each file is written under
a temporary name and renamed, so a killed export leaves nothing half-written, and the export
says what it is doing (logger `newsarchive.models`: the CLI shows it) since it takes a while. After that,
encoding needs only onnxruntime, numpy and `tokenizers`: torch and sentence-transformers are
not imported at all, which is most of a cold start. fp32 vectors equal torch's (cosine 1.0);
`onnx-int8` quantises the weights and activations (the recipe named in onnx_export.py), and its
vectors are a family of their own.

Pooling and normalisation follow the model folder's `modules.json` and pooling config, the way
sentence-transformers applies them.
"""

from __future__ import annotations

import logging
import time
from functools import cached_property
from pathlib import Path

import numpy as np

from .base import ModelError, default_threads
from .model_folder import FolderEmbedder
from .onnx_export import (
    CALIBRATION_TEXTS,
    EXPORT_VERSION,
    INT8_RECIPE,
    export_onnx,
    quantize_int8,
    remove_stale_exports,
)

log = logging.getLogger("newsarchive.models")


def default_cache_dir() -> Path:
    """The per-user cache folder for exported models (~/.cache/newsarchive/models on Linux)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("newsarchive", appauthor=False)) / "models"


class OnnxEmbedder(FolderEmbedder):
    """Embeds with onnxruntime; `quantized` selects the int8 model."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        cache_dir: str | Path | None = None,
        quantized: bool = False,
        batch_size: int | None = None,
        threads: int | None = None,
    ) -> None:
        super().__init__(model_path)
        if not self.folder.has_tokenizer:
            raise ModelError(
                f"{self.path}: the onnx backend needs tokenizer.json; use backend torch"
            )
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        remove_stale_exports(self.cache_dir)  # what a killed export left behind
        self.quantized = quantized
        self.backend = "onnx-int8" if quantized else "onnx"
        self.family = "int8" if quantized else "fp32"
        self.recipe = INT8_RECIPE if quantized else ""
        self.batch_size = batch_size or 8
        self.threads = default_threads(threads)

    @cached_property
    def _batch_tokenizer(self):
        return self.folder.tokenizer(window=True)

    def model_file(self) -> Path:
        """The cached ONNX file for this model and precision, exported on first use."""
        folder = self.cache_dir / f"{self.fingerprint}-v{EXPORT_VERSION}"
        fp32 = folder / "model.onnx"
        if not fp32.exists():
            self._build(f"exporting model {self.name!r} to ONNX", fp32, export_onnx, self.path)
        if not self.quantized:
            return fp32
        int8 = folder / f"model-int8-{INT8_RECIPE}.onnx"
        if not int8.exists():
            feeds = self.calibration_feeds()
            self._build(
                f"quantising model {self.name!r} to int8 ({INT8_RECIPE})",
                int8,
                lambda source, target: quantize_int8(source, target, feeds),
                fp32,
            )
        return int8

    def calibration_feeds(self) -> list[dict[str, np.ndarray]]:
        """CALIBRATION_TEXTS tokenised, one unpadded text per feed (what finds the outlier
        channels of the int8 recipe)."""
        feeds = []
        for encoding in self._batch_tokenizer.encode_batch(list(CALIBRATION_TEXTS)):
            length = sum(encoding.attention_mask)
            feeds.append(
                {
                    "input_ids": np.array([encoding.ids[:length]], dtype=np.int64),
                    "attention_mask": np.array([encoding.attention_mask[:length]], dtype=np.int64),
                    "token_type_ids": np.array([encoding.type_ids[:length]], dtype=np.int64),
                }
            )
        return feeds

    @staticmethod
    def _build(what: str, target: Path, build, source: Path) -> None:
        """Build one cached file (written under a temporary name, then renamed), saying so."""
        log.info("%s, once per machine, into %s (this takes a minute)...", what, target.parent)
        started = time.perf_counter()
        build(source, target)
        log.info("%s: done in %.0f s", what, time.perf_counter() - started)

    @cached_property
    def session(self):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # No busy-waiting after a run: spinning workers burned ~40% of a 1M hybrid query's
        # CPU (47 -> 28 ms p50) while FAISS and SQLite waited for a core; encoding speed is
        # unchanged (bench/README.md, "Query CPU: onnxruntime's spinning threads").
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(
            str(self.model_file()), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in session.get_inputs()}
        return session

    def load(self) -> None:
        _ = self.session

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._batch_tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = self.session.run(None, feed)[0]
        return self._pool(hidden, mask)

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        pooling = self.folder.pooling
        weights = mask[:, :, None].astype(np.float32)
        parts = []
        if pooling.get("pooling_mode_cls_token"):
            parts.append(hidden[:, 0])
        if pooling.get("pooling_mode_max_tokens"):
            parts.append(np.where(weights > 0, hidden, -1e9).max(axis=1))
        summed = (hidden * weights).sum(axis=1)
        counts = np.clip(weights.sum(axis=1), 1e-9, None)
        if pooling.get("pooling_mode_mean_tokens"):
            parts.append(summed / counts)
        if pooling.get("pooling_mode_mean_sqrt_len_tokens"):
            parts.append(summed / np.sqrt(counts))
        pooled = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        if self.folder.normalize:
            pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)
