"""Joining a Ray cluster for one job, and a real multi-node cluster on this machine for tests.

`session(address)` is what ingest, re-embedding and serving use: it joins the cluster that
`ray start --head` started (`"HOST:6379"`, `"ray://HOST:10001"`, or `"auto"` for the one on
this machine), or with `"local"` starts a throw-away Ray on loopback, and leaves things as it
found them: a cluster it started is stopped, a cluster it joined is only disconnected from,
and a Ray the caller had already connected is left alone.

`LocalCluster` starts a head and worker nodes as separate processes on loopback (each its own
raylet, object store and worker processes), so killing a node kills real processes and Ray
has to recover the way it would on a cluster. It is for tests and benchmarks; production
clusters are started with `ray start` (or KubeRay) and joined with `session(address)`.

What this machine taught (each cost time to find):
- Ray turns 127.0.0.1 into the machine's outward address when a driver connects; with
  RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (inherited by the node processes) and the driver's
  node address set to 127.0.0.1, every address stays on loopback.
- A SIGTERM'd driver can hang in Ray's atexit while node processes keep running, so
  `LocalCluster.stop()` kills by pid whatever of its own descendants outlives Ray's shutdown.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from . import require_ray

LOCAL = "local"
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
MiB = 1024 * 1024
_ADDRESS = re.compile(r"(ray://)?[A-Za-z0-9._\-]{1,253}:\d{1,5}|(ray://)?\[[0-9A-Fa-f:]+\]:\d{1,5}")


def check_address(value: str | None) -> str:
    """`local` (also for an empty value), `auto`, `HOST:PORT` or `ray://HOST:PORT`.

    Raises ValueError naming the value otherwise (a path given where an address belongs is
    the usual mistake: `ingest --ray corpus/`).
    """
    text = (value or "").strip()
    if text in ("", LOCAL):
        return LOCAL
    if text == "auto" or (len(text) <= 270 and _ADDRESS.fullmatch(text)):
        return text
    raise ValueError(f"ray address {value[:80]!r} is not HOST:PORT, ray://HOST:PORT, auto or local")


def _loopback() -> ModuleType:
    """Keep every Ray address on 127.0.0.1, in this process and the nodes it starts."""
    os.environ.update(LOOPBACK_ENV)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = require_ray()
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False  # read at import; the env covers the children
    return ray


@contextmanager
def session(address: str | None = LOCAL, **init: Any) -> Iterator[ModuleType]:
    """Connected to the Ray cluster at `address` for the `with` block; yields `ray`.

    `local` starts a Ray on this machine (loopback only, no dashboard) and stops it after.
    A driver that is already connected (tests, notebooks) stays connected to its cluster.
    """
    address = check_address(address)
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    init.setdefault("log_to_driver", False)
    if address == LOCAL:
        _loopback()
        init.setdefault("include_dashboard", False)
        init.setdefault("_node_ip_address", "127.0.0.1")
    ray.init(address=address, **init)
    try:
        yield ray
    finally:
        ray.shutdown()  # stops a local Ray; only disconnects from a cluster we joined


def descendants(pid: int | None = None) -> set[int]:
    """Every live descendant of `pid` (default: this process), read from /proc."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(int(entry))
        if fields and fields[0] != "Z":  # zombies are dead already
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name ([state, ppid, ...]); [] if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode(errors="replace")
    except OSError:
        return []
    return stat[stat.rfind(")") + 2 :].split()


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


@dataclass
class LocalCluster:
    """A head and `workers` worker nodes on loopback; `stop()` leaves no process behind.

    `head_cpus=0` keeps work off the head (the driver's node), so killing a worker node kills
    the actors on it. CPUs are logical: two nodes of 1 CPU on a 2-core machine is the real
    machine, split in two.
    """

    workers: int = 2
    worker_cpus: float = 1
    head_cpus: float = 0
    object_store_mb: int = 100
    system_config: dict[str, Any] = field(default_factory=dict)  # Ray's _system_config
    cluster: Any = None
    nodes: list[Any] = field(default_factory=list)
    started_s: float = 0.0
    _before: set[int] = field(default_factory=set)

    def start(self) -> LocalCluster:
        ray = _loopback()
        from ray.cluster_utils import Cluster

        begun = time.perf_counter()
        self._before = descendants()
        self.cluster = Cluster(
            initialize_head=True,
            connect=False,
            head_node_args={
                "num_cpus": self.head_cpus,
                "include_dashboard": False,
                "node_ip_address": "127.0.0.1",
                "object_store_memory": self.object_store_mb * MiB,
                "_system_config": dict(self.system_config),
            },
        )
        for _ in range(self.workers):
            self.add_node()
        self.cluster.wait_for_nodes()
        ray.init(address=self.address, log_to_driver=False, _node_ip_address="127.0.0.1")
        self.started_s = time.perf_counter() - begun
        return self

    @property
    def address(self) -> str:
        return self.cluster.address

    def add_node(self, cpus: float | None = None) -> Any:
        node = self.cluster.add_node(
            num_cpus=self.worker_cpus if cpus is None else cpus,
            node_ip_address="127.0.0.1",
            object_store_memory=self.object_store_mb * MiB,
        )
        self.nodes.append(node)
        return node

    def kill_node(self, node: Any = None) -> None:
        """Kill a worker node's processes at once (no graceful drain), as a crash would."""
        node = node or self.nodes[-1]
        self.cluster.remove_node(node, allow_graceful=False)
        self.nodes.remove(node)

    def stop(self, timeout: float = 10.0) -> list[int]:
        """Shut Ray down, then kill by pid any of our own descendants still alive.

        Returns the pids that had to be killed (empty when Ray's shutdown got them all).
        """
        ray = require_ray()
        ours = descendants() - self._before
        try:
            ray.shutdown()
        finally:
            if self.cluster is not None:
                self.cluster.shutdown()
                self.cluster = None
        deadline = time.monotonic() + timeout
        alive = ours
        while time.monotonic() < deadline:
            alive = {p for p in ours if _alive(p)}
            if not alive:
                return []
            time.sleep(0.1)
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return sorted(alive)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
