"""Every setting read from the environment, with its default, in one place.

index/ never reads the environment itself: the facade passes these values to it, so a library
user can give them as arguments instead.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

DATA_ENV = "NEWSARCHIVE_DATA"  # the archive folder
MODEL_ENV = "NEWSARCHIVE_MODEL"  # a local sentence-transformers folder
BACKEND_ENV = "NEWSARCHIVE_BACKEND"  # onnx | onnx-int8 | torch | a registered or dotted name
THREADS_ENV = "NEWSARCHIVE_THREADS"  # intra-op threads of the embedding model
URL_ENV = "NEWSARCHIVE_URL"  # a running `newsarchive serve` for the CLI's search
API_KEY_ENV = "NEWSARCHIVE_API_KEY"  # the key that writes (and reads)
READ_KEY_ENV = "NEWSARCHIVE_READ_KEY"  # the key that reads
CACHE_ENV = "NEWSARCHIVE_CACHE"  # the per-user cache (exported models)
CORS_ORIGINS_ENV = "NEWSARCHIVE_CORS_ORIGINS"  # other origins whose pages may call the API
ALLOW_PRIVATE_ENV = "NEWSARCHIVE_ALLOW_PRIVATE"  # 1: fetch loopback/private addresses too
LOCK_TIMEOUT_ENV = "NEWSARCHIVE_LOCK_TIMEOUT"  # seconds a write waits for another writer


def default_data_dir() -> Path:
    """NEWSARCHIVE_DATA, else the per-user data folder (~/.local/share/newsarchive on Linux)."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("newsarchive", appauthor=False))


def model_cache_dir() -> Path:
    """Where exported models are kept, one per model and export version for every archive:
    NEWSARCHIVE_CACHE, else the per-user cache folder (~/.cache/newsarchive on Linux)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser() / "models"
    from ..index.embedders.onnxrt import default_cache_dir

    return default_cache_dir()


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


def configured_allow_private() -> bool:
    """NEWSARCHIVE_ALLOW_PRIVATE=1: `--fetch` may reach loopback and private-network hosts."""
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


def configured_lock_timeout() -> float:
    """NEWSARCHIVE_LOCK_TIMEOUT: how long a write waits for another writer (default 10 s)."""
    value = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    try:
        return max(0.0, float(value)) if value else 10.0
    except ValueError:
        return 10.0


@dataclass(frozen=True)
class Limits:
    """Caps on what one input may cost, so memory stays bounded whatever arrives.

    Each is set by `NEWSARCHIVE_MAX_<NAME>` (a number, or with a K/M/G suffix: `64M`).
    """

    file_bytes: int = 16 << 20  # a file read whole (text, HTML, JSON document, feed)
    decompressed_bytes: int = 4 << 30  # all that one .gz input may expand to
    line_bytes: int = 8 << 20  # one JSONL line
    article_chars: int = 1_000_000  # an article's title and text
    http_bytes: int = 8 << 20  # one HTTP response body (feeds, fetched pages)
    request_bytes: int = 32 << 20  # one request body sent to the HTTP API
    errors_per_file: int = 10_000  # bad lines after which a file is abandoned

    @staticmethod
    def env_name(name: str) -> str:
        return "NEWSARCHIVE_MAX_" + name.upper()


_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """'64M' -> 67108864, '1000' -> 1000; None when it is not a size."""
    match = _SIZE_RE.match(text)
    if not match:
        return None
    return int(match.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[match.group(2).lower()]


def configured_limits() -> Limits:
    """The Limits, each from its NEWSARCHIVE_MAX_* variable when set."""
    from .errors import InputError

    values = {}
    for item in fields(Limits):
        name = Limits.env_name(item.name)
        raw = os.environ.get(name, "").strip()
        if not raw:
            continue
        size = parse_size(raw)
        if not size:
            raise InputError(f"{name}={raw!r} is not a positive size like 1000, 64K, 64M or 1G")
        values[item.name] = size
    return Limits(**values)
