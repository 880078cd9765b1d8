"""An onnxruntime embedder: the same sentence-transformers model, about twice as fast on CPU.

The transformer is exported once with `torch.onnx.export` into a cache folder named after a
fingerprint of the source model files, so an updated model is exported anew and a stale export
is never used. After that, encoding needs only onnxruntime, numpy and `tokenizers`: torch and
sentence-transformers are not imported at all, which is most of a cold start.

Pooling and normalisation follow the model folder's `modules.json` and `1_Pooling/config.json`,
the way sentence-transformers would apply them.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import cached_property
from pathlib import Path

import numpy as np

from .embedding import default_threads

# Bump when the export or quantisation changes, so cached files from older code are not reused.
# v2: eager attention exported and fused by onnxruntime's transformer optimizer.
EXPORT_VERSION = "2"
# Architectures whose graphs onnxruntime's BERT fusions understand; others stay unfused.
FUSABLE = ("bert", "roberta", "xlm-roberta", "distilbert", "electra", "camembert")
POOLING_MODES = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens")


def source_fingerprint(model_path: Path) -> str:
    """Identity of a model folder's files, cheap enough for every start.

    Config and tokenizer files are hashed whole; weight files by name, size and their first and
    last MiB (hashing 90 MB on every cold start would cost more than it protects).
    """
    digest = hashlib.sha256(f"export-v{EXPORT_VERSION}".encode())
    for name in sorted(os.listdir(model_path)):
        file = model_path / name
        if not file.is_file():
            continue
        if name.endswith((".json", ".txt")):
            digest.update(name.encode() + b"\0" + file.read_bytes())
        elif name.endswith((".safetensors", ".bin", ".pt")):
            size = file.stat().st_size
            digest.update(f"{name}:{size}".encode())
            with file.open("rb") as handle:
                digest.update(handle.read(1 << 20))
                handle.seek(max(0, size - (1 << 20)))
                digest.update(handle.read(1 << 20))
    pooling = model_path / "1_Pooling" / "config.json"
    if pooling.exists():
        digest.update(pooling.read_bytes())
    return digest.hexdigest()[:16]


def export_onnx(
    model_path: Path, target: Path, *, attention: str = "eager", fuse: bool = True
) -> None:
    """Export the transformer (token ids in, last hidden state out) with dynamic shapes.

    Needs torch and transformers, which is why this runs once and is cached. `attention` and
    `fuse` exist for bench/export_variants.py; the backend always uses the defaults.
    """
    import warnings

    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()

    class LastHidden(torch.nn.Module):
        """Keyword arguments in, one tensor out: forward() signatures vary across releases."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            output = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return output.last_hidden_state

    # Eager attention exports as plain MatMul/Softmax, a pattern onnxruntime fuses into one
    # Attention kernel; the SDPA default exports as a graph it does not, and encoded 13-17%
    # slower over two runs of bench/export_variants.py (27.1-28.5 vs 31.2-34.3 passages/s).
    try:
        inner = AutoModel.from_pretrained(
            str(model_path), local_files_only=True, attn_implementation=attention
        )
    except (TypeError, ValueError):
        inner = AutoModel.from_pretrained(str(model_path), local_files_only=True)
    model = LastHidden(inner)
    model.eval()
    sample = {
        "input_ids": torch.ones((2, 8), dtype=torch.int64),
        "attention_mask": torch.ones((2, 8), dtype=torch.int64),
        "token_type_ids": torch.zeros((2, 8), dtype=torch.int64),
    }
    names = list(sample)
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shape-dependent branches
        torch.onnx.export(
            model,
            (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
            str(tmp),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    if fuse:
        fuse_graph(tmp, model_path)
    os.replace(tmp, target)


def fuse_graph(path: Path, model_path: Path) -> bool:
    """Rewrite an exported graph in place with onnxruntime's transformer fusions, if that is safe.

    onnxruntime fuses much of this itself when it loads a plain graph, so the offline pass adds
    3-12% for fp32 and 3-6% for int8, which is quantised from this graph (two runs of
    bench/export_variants.py). The fused graph is kept only if its
    output matches the plain one on a padded sample batch; otherwise the plain export stays.
    """
    config_file = model_path / "config.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else {}
    if config.get("model_type") not in FUSABLE:
        return False
    import logging

    from onnxruntime.transformers.optimizer import optimize_model

    fused = path.with_name(path.name + ".fused")
    logger = logging.getLogger("onnxruntime.transformers")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        optimized = optimize_model(
            str(path),
            model_type="bert",
            num_heads=int(config.get("num_attention_heads", 0)),
            hidden_size=int(config.get("hidden_size", 0)),
            opt_level=1,
        )
        optimized.save_model_to_file(str(fused))
        if not _same_outputs(path, fused):
            return False
        os.replace(fused, path)
        return True
    except Exception:  # an unusual graph: the plain export is correct, only slower
        return False
    finally:
        logger.setLevel(level)
        fused.unlink(missing_ok=True)


def _same_outputs(plain: Path, fused: Path) -> bool:
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 2000, size=(3, 40), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 25:] = 0  # padding, the case a fused attention most easily gets wrong
    mask[2, 9:] = 0
    outputs = []
    for file in (plain, fused):
        session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, {k: v for k, v in feed.items() if k in names})[0]
        outputs.append(hidden * mask[:, :, None])
    return bool(np.abs(outputs[0] - outputs[1]).max() < 1e-4)


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the weights, per channel (keeps cosine ~0.99 to fp32)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_suffix(f".tmp{os.getpid()}")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic advises pre-processing on the root logger
    try:
        quantize_dynamic(
            str(source),
            str(tmp),
            per_channel=True,
            weight_type=QuantType.QInt8,
            use_external_data_format=False,
            # fused ops are outside shape inference; their outputs are float
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)
    os.replace(tmp, target)


class OnnxEmbedder:
    """Embeds with onnxruntime; `quantized` selects the int8 model. Vectors are L2-normalised."""

    def __init__(
        self,
        model_path: str | Path,
        cache_dir: str | Path,
        *,
        quantized: bool = False,
        batch_size: int = 8,
        threads: int | None = None,
    ) -> None:
        self.path = Path(model_path).expanduser()
        self.cache_dir = Path(cache_dir).expanduser()
        self.quantized = quantized
        self.backend = "onnx-int8" if quantized else "onnx"
        self.batch_size = batch_size
        self.threads = threads or default_threads()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def _modules(self) -> list[dict]:
        modules = self.path / "modules.json"
        return json.loads(modules.read_text()) if modules.exists() else []

    @cached_property
    def pooling(self) -> dict:
        config = self.path / "1_Pooling" / "config.json"
        for module in self._modules:
            if module.get("type", "").endswith("Pooling"):
                config = self.path / module.get("path", "1_Pooling") / "config.json"
        return (
            json.loads(config.read_text())
            if config.exists()
            else {"pooling_mode_mean_tokens": True}
        )

    @cached_property
    def normalize(self) -> bool:
        return any(m.get("type", "").endswith("Normalize") for m in self._modules)

    @cached_property
    def dimension(self) -> int:
        if "word_embedding_dimension" in self.pooling:
            return int(self.pooling["word_embedding_dimension"])
        return int(json.loads((self.path / "config.json").read_text())["hidden_size"])

    @cached_property
    def max_tokens(self) -> int:
        """Tokens the model sees per text, not counting [CLS] and [SEP]."""
        return self.max_seq_length - 2

    @cached_property
    def max_seq_length(self) -> int:
        config = self.path / "sentence_bert_config.json"
        if config.exists():
            return int(json.loads(config.read_text()).get("max_seq_length", 256))
        return 256

    @cached_property
    def tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def _batch_tokenizer(self):
        """A second tokenizer that truncates to the model window and pads to the batch's longest."""
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.enable_truncation(self.max_seq_length)
        pad_id = tokenizer.token_to_id("[PAD]") or 0
        tokenizer.enable_padding(pad_id=pad_id, pad_token="[PAD]")
        return tokenizer

    def count_tokens(self, texts: list[str]) -> list[int]:
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    @cached_property
    def fingerprint(self) -> str:
        return source_fingerprint(self.path)

    def model_file(self) -> Path:
        """The cached ONNX file for this model and precision, exported on first use."""
        folder = self.cache_dir / self.fingerprint
        fp32 = folder / "model.onnx"
        if not fp32.exists():
            export_onnx(self.path, fp32)
        if not self.quantized:
            return fp32
        int8 = folder / "model-int8.onnx"
        if not int8.exists():
            quantize_int8(fp32, int8)
        return int8

    @cached_property
    def session(self):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        session = ort.InferenceSession(
            str(self.model_file()), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in session.get_inputs()}
        return session

    def load(self) -> None:
        _ = self.session

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._batch_tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = self.session.run(None, feed)[0]
        return self._pool(hidden, mask)

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        weights = mask[:, :, None].astype(np.float32)
        parts = []
        if self.pooling.get("pooling_mode_cls_token"):
            parts.append(hidden[:, 0])
        if self.pooling.get("pooling_mode_max_tokens"):
            parts.append(np.where(weights > 0, hidden, -1e9).max(axis=1))
        summed = (hidden * weights).sum(axis=1)
        counts = np.clip(weights.sum(axis=1), 1e-9, None)
        if self.pooling.get("pooling_mode_mean_tokens"):
            parts.append(summed / counts)
        if self.pooling.get("pooling_mode_mean_sqrt_len_tokens"):
            parts.append(summed / np.sqrt(counts))
        pooled = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        if self.normalize:
            pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Batches of similar length (sorted by size) so little time goes on padding."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with self._lock:
            self.load()
            for start in range(0, len(texts), self.batch_size):
                chunk = order[start : start + self.batch_size]
                out[chunk] = self._run([texts[i] for i in chunk])
        return out

    def encode_query(self, query: str) -> np.ndarray:
        return self.encode([query])
