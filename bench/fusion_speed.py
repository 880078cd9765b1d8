"""The ONNX export with and without onnxruntime's transformer fusions, on the same passages.

    .venv/bin/python bench/fusion_speed.py --limit 150

Exports the model twice into bench/.work/fusion/ (plain: what `torch.onnx.export` writes;
fused: the same file after `fuse_graph`, which is what the `onnx` backend uses), then encodes
the same BBC body passages with each, alternating three times, at batch 8, and prints
passages/s and the largest vector difference between the two.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from ingest import DEFAULT_CORPUS, WORK, load_records, passage_texts  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=150, help="articles")
    args = parser.parse_args()
    if not DEFAULT_CORPUS.exists():
        print(f"{DEFAULT_CORPUS} not found; this benchmark needs ../shared/ (skipped)")
        return 0
    from newsarchive.index import onnx_backend
    from newsarchive.index.embedding import make_embedder

    folder = WORK / "fusion"
    shutil.rmtree(folder, ignore_errors=True)
    embedders = {}
    for name, fuse in (("plain", False), ("fused", True)):
        if not fuse:  # export without the fusion step
            original = onnx_backend.fuse_graph
            onnx_backend.fuse_graph = lambda path, model_path: False
        try:
            embedder = make_embedder(None, "onnx", folder / name, batch_size=8)
            embedder.load()
        finally:
            if not fuse:
                onnx_backend.fuse_graph = original
        embedders[name] = embedder
    texts = passage_texts(load_records(DEFAULT_CORPUS, args.limit), embedders["fused"])
    print(f"{len(texts)} passages, batch 8, {os.cpu_count()} cpus")
    vectors, rates = {}, {name: [] for name in embedders}
    for _ in range(3):
        for name, embedder in embedders.items():
            embedder.encode(texts[:8])
            start = time.perf_counter()
            vectors[name] = embedder.encode(texts)
            rates[name].append(len(texts) / (time.perf_counter() - start))
    for name, values in rates.items():
        print(f"{name}: " + ", ".join(f"{v:.1f}" for v in values) + " passages/s")
    print(f"fused / plain (mean): {np.mean(rates['fused']) / np.mean(rates['plain']):.2f}")
    difference = np.abs(vectors["plain"] - vectors["fused"]).max()
    print(f"max |difference| between their vectors: {difference:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
