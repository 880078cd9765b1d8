"""Where the archive lives and which settings come from the environment."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "NEWSARCHIVE_DATA"


def default_data_dir() -> Path:
    """NEWSARCHIVE_DATA, else the per-user data folder (~/.local/share/newsarchive on Linux)."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("newsarchive", appauthor=False))
