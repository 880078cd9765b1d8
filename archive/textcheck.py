"""Text that is not text: lone UTF-16 surrogates.

JSON may spell them (`"\\ud800"`) and Python keeps them in a `str`, but no encoding can write
them: stored or hashed, they fail far from where they came in. Every face refuses them where
they arrive, naming the field (a bad record in a file, a 422 in the HTTP API).
"""

from __future__ import annotations

import re
from typing import Any

SURROGATE_RE = re.compile("[\ud800-\udfff]")
MAX_DEPTH = 64  # deeper than any record: not worth walking


def surrogate_field(value: Any, name: str = "value", depth: int = 0) -> str | None:
    """The name of the (top-level) field of a JSON value whose text holds a lone surrogate,
    or None."""
    if isinstance(value, str):
        return name if SURROGATE_RE.search(value) else None
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, (list, tuple)):
        items = ((None, item) for item in value)
    else:
        return None
    for key, item in items:
        field = name if depth or key is None else str(key)
        if key is not None and SURROGATE_RE.search(str(key)):
            return field
        found = surrogate_field(item, field, depth + 1)
        if found:
            return found
    return None


def surrogate_message(field: str) -> str:
    return f"{field}: holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text"
