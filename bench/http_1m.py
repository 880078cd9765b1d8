"""Hybrid at 1M, in-process `Archive.search` and over HTTP (`newsarchive serve`), alternated
query by query; server process CPU from /proc."""

# ruff: noqa: B023 (each lambda is called at once, inside its loop turn)

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))
from keyword_lab import SHARED, cpu_line, load_line

from newsarchive.archive import Archive

folder, n, port = Path(sys.argv[1]), int(sys.argv[2]), 8791
tick = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick


server = subprocess.Popen(
    [sys.executable, "-m", "newsarchive", "serve", "--data", str(folder), "--port", str(port)],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
try:
    print(cpu_line(), load_line(), flush=True)
    archive = Archive(folder)
    archive.searcher()
    qs = [
        json.loads(line)["query"]
        for line in (SHARED / "eval" / "bbc_headlines.jsonl").read_text().splitlines()
    ][:n]
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    for _ in range(600):
        try:
            if client.get("/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(1)
    for q in qs[:5]:
        client.get("/search", params={"q": q, "mode": "hybrid"}).raise_for_status()
        archive.search(q, mode="hybrid")
    rows = {"in-process": ([], []), "HTTP": ([], [])}
    for q in qs:
        a, b = time.perf_counter(), time.process_time()
        archive.search(q, mode="hybrid")
        rows["in-process"][0].append((time.perf_counter() - a) * 1000)
        rows["in-process"][1].append((time.process_time() - b) * 1000)
        a, b = time.perf_counter(), proc_cpu(server.pid)
        client.get("/search", params={"q": q, "mode": "hybrid"}).raise_for_status()
        rows["HTTP"][0].append((time.perf_counter() - a) * 1000)
        rows["HTTP"][1].append((proc_cpu(server.pid) - b) * 1000)
    print(
        f"{len(qs)} BBC headlines, hybrid, alternating; {load_line()}; stats {archive.keywords.stats()}\n"
    )
    print(
        "| path | wall p50 ms | wall p95 ms | process CPU p50 ms | process CPU p95 ms |\n| --- | --- | --- | --- | --- |"
    )
    for k, (w, c) in rows.items():
        print(
            f"| {k} | {np.percentile(w, 50):.1f} | {np.percentile(w, 95):.1f} | {np.percentile(c, 50):.1f} | {np.percentile(c, 95):.1f} |"
        )
    archive.close()
finally:
    server.terminate()
    server.wait(timeout=60)
