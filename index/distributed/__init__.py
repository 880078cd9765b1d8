"""Past one machine, on Ray: the cluster connection and the embedding actors.

Ray is an optional extra (`pip install "newsarchive[ray]"`). Nothing on the single-machine
paths imports this package's modules, and `ray` itself is imported only inside the functions
that need it, so this package imports (and says what to install) without Ray.

- `cluster.py`: `session(address)` joins a cluster (or starts a throw-away one on loopback)
  for the length of one job; `LocalCluster` starts real node processes on this machine (tests
  and benchmarks).
- `embedding.py`: `RayEncoder`, a Ray Data pipeline: passages submitted are gathered into
  windows, each one streaming `map_batches` execution over an actor pool of embedders (the
  model loaded once per actor per window), rows back in order; `submit(texts)` queues a batch
  and `result(handle)` waits for it, which is what lets ingest start embedding before the
  writer gets there.

Sharded vector search is in `index/vectors/sharded.py`; replicated serving in
`api/replicas.py`.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

INSTALL_HINT = 'Ray is an optional extra: pip install "newsarchive[ray]"'


class RayMissingError(ImportError):
    """Ray was asked for but is not installed; the message says how to install it."""


def require_ray() -> ModuleType:
    """The `ray` module, or a RayMissingError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise RayMissingError(f"ray is not installed; {INSTALL_HINT}") from exc
    return ray


def ray_available() -> bool:
    """Whether `ray` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):  # sys.modules["ray"] set to None, or a broken entry
        return False


__all__ = ["INSTALL_HINT", "RayMissingError", "ray_available", "require_ray"]
