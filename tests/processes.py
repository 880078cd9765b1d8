"""Shared by the reliability tests: real `newsarchive` processes (a `serve` on a loopback
port, commands run to completion with their peak memory, the environment that picks the test
embedder by name), a corpus of distinct articles, and the check that every vector in the FAISS
file is its passage's own."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import httpx
import numpy as np

COMMAND = [sys.executable, "-m", "newsarchive"]


def hash_env(**extra: str) -> dict[str, str]:
    """The environment of a test subprocess: the test embedder, no key, no inherited setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSARCHIVE_")}
    env.update({"NEWSARCHIVE_BACKEND": "hash", "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float  # the process's largest resident set (wait4's ru_maxrss)


# A small process that runs the command and records its rusage. The kernel's peak RSS of a
# process includes the memory of the process it was forked from, so the command is forked from
# this ~10 MB launcher, not from the test process.
LAUNCHER = """import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(json.dumps([os.waitstatus_to_exitcode(status), usage.ru_maxrss]))
"""


def measured_peak(args: list[str], *, env: dict[str, str], timeout: float = 120) -> Finished:
    """Run `newsarchive ARGS` to the end; its output and its own peak memory (wait4's
    ru_maxrss)."""
    import signal
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "rusage.json"
        out_path, err_path = Path(folder) / "out", Path(folder) / "err"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            launcher = subprocess.Popen(
                [sys.executable, "-S", "-c", LAUNCHER, str(result), "-m", "newsarchive", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            try:
                launcher.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(launcher.pid, signal.SIGKILL)
                launcher.wait()
                raise
        returncode, peak_kb = json.loads(result.read_text())
        return Finished(
            returncode,
            out_path.read_text(errors="replace"),
            err_path.read_text(errors="replace"),
            peak_kb / 1024,
        )


@contextmanager
def serving(data: Path, env: dict[str, str]) -> Iterator[str]:
    """`newsarchive serve` over `data` on a free loopback port; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [*COMMAND, "serve", "--data", str(data), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited: {process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("serve did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def corpus(start: int, stop: int) -> list[dict]:
    """Articles with one passage of unique words each, so every vector is distinct."""
    return [
        {
            "id": f"story-{i}",
            "title": f"Story {i}",
            "body": text_of(i),
        }
        for i in range(start, stop)
    ]


def text_of(i: int) -> str:
    return f"Report number{i} about harbour{i} cranes{i} and tides{i} at dawn."


def assert_every_vector_is_its_own(data: Path) -> None:
    """Each passage's vector in the FAISS file equals the one stored with it in SQLite."""
    index = faiss.read_index(str(data / "vectors.faiss"))
    conn = sqlite3.connect(data / "archive.db")
    rows = conn.execute("SELECT id, vector FROM passages ORDER BY id").fetchall()
    conn.close()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    assert sorted(faiss.vector_to_array(index.id_map).tolist()) == ids.tolist()
    stored = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
    held = index.reconstruct_batch(ids)
    wrong = ids[np.abs(stored - held).max(axis=1) > 1e-6]
    assert wrong.tolist() == []
