"""The backend calibration that picks a new archive's default (index/embedders/autotune.py),
run on its own, three times, with the rates relative to torch and what each run would pick.

    .venv/bin/python bench/calibrate.py [--texts 96] [--runs 3]

Nothing is cached (the rates go to bench/.work/backends.json, not the user's cache).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
WORK = Path(__file__).resolve().parent / ".work"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=96)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    os.environ["NEWSARCHIVE_TUNING"] = str(WORK / "backends.json")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from newsarchive.index.embedders import autotune, make_embedder

    print("CPU:", autotune.describe_cpu())
    embedders = {}
    for backend in ("onnx", "torch", "onnx-int8"):
        started = time.perf_counter()
        embedders[backend] = make_embedder(backend, cache_dir=WORK / "models")
        embedders[backend].load()
        print(f"{backend}: loaded in {time.perf_counter() - started:.1f} s", flush=True)
    texts = autotune.calibration_texts(args.texts)
    for run in range(args.runs):
        started, cpu = time.perf_counter(), time.process_time()
        rates = autotune.calibrate(embedders, texts)
        relative = ", ".join(f"{k} {v / rates['torch']:.2f}" for k, v in rates.items())
        print(
            f"run {run}: passages/s {rates} (torch = 1: {relative}); a new archive gets "
            f"{autotune.pick(rates, None)}, an fp32 one {autotune.pick(rates, 'fp32')}; "
            f"{time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} s CPU",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
