"""Embedding backends behind one factory: a name -> the class that makes those vectors.

Backends are imported only when made, so choosing one never loads another (torch costs
seconds). A dotted `package.module:Class` is accepted as a backend name too, so a user can plug
in an embedder of their own (a subclass of `Embedder`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import Embedder, ModelError, default_threads


@dataclass(frozen=True)
class Backend:
    target: str  # "module:Class"
    family: str  # backends of one family make the same vectors and may share an archive
    options: dict[str, Any] = field(default_factory=dict)


BACKENDS: dict[str, Backend] = {
    "onnx": Backend("newsarchive.index.embedders.onnxrt:OnnxEmbedder", "fp32"),
    "onnx-int8": Backend(
        "newsarchive.index.embedders.onnxrt:OnnxEmbedder", "int8", {"quantized": True}
    ),
    "torch": Backend("newsarchive.index.embedders.sbert:TorchEmbedder", "fp32"),
    "hash": Backend("newsarchive.index.embedders.hashing:HashEmbedder", "hash"),
}
DEFAULT_BACKEND = "onnx"  # what tests and benchmarks name; archives ask preferred_backend
USER_BACKENDS = ("onnx", "onnx-int8", "torch")  # the ones documented for users


def _load(target: str) -> type[Embedder]:
    module_name, _, class_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ModelError(f"backend {target!r} cannot be imported ({exc})") from exc
    if not (isinstance(cls, type) and issubclass(cls, Embedder)):
        raise ModelError(f"backend {target!r} is not an Embedder")
    return cls


def resolve(name: str) -> Backend:
    """The backend registered under `name`, or a dotted `module:Class`."""
    if name in BACKENDS:
        return BACKENDS[name]
    if ":" in name:
        return Backend(name, _load(name).family)
    raise ModelError(f"backend {name!r} is not one of {', '.join(USER_BACKENDS)}")


def family_of(name: str | None) -> str | None:
    """The vector family a backend name makes, or None for an unknown name."""
    try:
        return resolve(name).family if name else None
    except ModelError:
        return None


def make_embedder(
    backend: str = DEFAULT_BACKEND,
    model_path: str | Path | None = None,
    *,
    cache_dir: str | Path | None = None,
    batch_size: int | None = None,
    threads: int | None = None,
) -> Embedder:
    """An embedder for `backend`; onnx ones keep their exported model under `cache_dir`."""
    chosen = resolve(backend)
    cls = _load(chosen.target)
    options = {"batch_size": batch_size, "threads": threads, "cache_dir": cache_dir}
    return cls(model_path, **options, **chosen.options)


def preferred_backend(
    family: str | None,
    model_path: str | Path | None = None,
    *,
    cache_dir: str | Path | None = None,
    threads: int | None = None,
) -> str:
    """The fastest backend here for an archive of vector `family` (None: a new archive, which
    may get int8 when it is at fp32 quality), from the per-machine calibration (autotune.py)."""
    from . import autotune

    def load(backend: str) -> Embedder:
        embedder = make_embedder(backend, model_path, cache_dir=cache_dir, threads=threads)
        embedder.load()
        return embedder

    rates, _ = autotune.machine_rates(str(model_path or "default"), load, models_dir=cache_dir)
    return autotune.pick(rates, family)


__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "Backend",
    "Embedder",
    "ModelError",
    "default_threads",
    "family_of",
    "make_embedder",
    "preferred_backend",
    "resolve",
]
