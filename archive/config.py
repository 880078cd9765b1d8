"""Every setting read from the environment, with its default, in one place.

index/ never reads the environment itself: the facade passes these values to it, so a library
user can give them as arguments instead.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "NEWSARCHIVE_DATA"  # the archive folder
MODEL_ENV = "NEWSARCHIVE_MODEL"  # a local sentence-transformers folder
BACKEND_ENV = "NEWSARCHIVE_BACKEND"  # onnx | onnx-int8 | torch | a registered or dotted name
THREADS_ENV = "NEWSARCHIVE_THREADS"  # intra-op threads of the embedding model
URL_ENV = "NEWSARCHIVE_URL"  # a running `newsarchive serve` for the CLI's search
API_KEY_ENV = "NEWSARCHIVE_API_KEY"  # the key that writes (and reads)
READ_KEY_ENV = "NEWSARCHIVE_READ_KEY"  # the key that reads
CORS_ORIGINS_ENV = "NEWSARCHIVE_CORS_ORIGINS"  # other origins whose pages may call the API


def default_data_dir() -> Path:
    """NEWSARCHIVE_DATA, else the per-user data folder (~/.local/share/newsarchive on Linux)."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("newsarchive", appauthor=False))


def configured_model() -> str | None:
    """NEWSARCHIVE_MODEL, or None for the packaged default model."""
    return os.environ.get(MODEL_ENV) or None


def configured_backend() -> str | None:
    """NEWSARCHIVE_BACKEND as given (checked against the registry when used); None when unset."""
    value = os.environ.get(BACKEND_ENV, "").strip()
    return value.lower() if value and ":" not in value else (value or None)


def configured_threads() -> int | None:
    """NEWSARCHIVE_THREADS, or None for every usable core up to 4."""
    value = os.environ.get(THREADS_ENV, "").strip()
    return max(1, int(value)) if value.isdigit() else None


def configured_cors_origins() -> list[str]:
    """NEWSARCHIVE_CORS_ORIGINS as a list of origins (comma- or space-separated, `*` for any);
    empty when unset, which leaves CORS off: only pages served by this server may call it."""
    value = os.environ.get(CORS_ORIGINS_ENV, "")
    return [origin.rstrip("/") for origin in value.replace(",", " ").split()]
