"""Which part of the ONNX export makes it fast: attention kind, graph fusions, int8 source.

    .venv/bin/python bench/export_variants.py --limit 150

Builds five model files under bench/.work/export-variants/ from the same model and encodes the
same BBC body passages with each (batch 8, alternating, three rounds):

- `sdpa`: torch.onnx.export of the model with its default SDPA attention (export v1);
- `eager`: the same with eager attention, no offline fusion;
- `eager+fused`: eager, then onnxruntime's transformer fusions (the `onnx` backend's file);
- `int8(sdpa)`, `int8(eager)` and `int8(eager+fused)`: dynamic int8 quantisation of those
  (the first is the old `onnx-int8` model, the last the current one).

onnxruntime also applies its own graph optimisations when it loads any of them. Prints
passages/s per round, each file's largest vector difference from `eager+fused`, and the mean
cosine between the old and the current int8 model's vectors (what an int8 archive embedded
before export v2 would be searched with).
"""

from __future__ import annotations

import argparse
import os
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
    from newsarchive.index.embedders import make_embedder
    from newsarchive.index.embedders.model_folder import default_model_path
    from newsarchive.index.embedders.onnx_export import export_onnx, quantize_int8

    model = Path(default_model_path())
    folder = WORK / "export-variants"
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "sdpa": (folder / "sdpa.onnx", {"attention": "sdpa", "fuse": False}),
        "eager": (folder / "eager.onnx", {"attention": "eager", "fuse": False}),
        "eager+fused": (folder / "eager-fused.onnx", {"attention": "eager", "fuse": True}),
    }
    for path, options in files.values():
        if not path.exists():
            export_onnx(model, path, **options)
    paths = {name: path for name, (path, _) in files.items()}
    for name in ("sdpa", "eager", "eager+fused"):
        quantized = paths[name].with_name(paths[name].stem + "-int8.onnx")
        if not quantized.exists():
            quantize_int8(paths[name], quantized)
        paths[f"int8({name})"] = quantized

    embedders = {}
    for name, path in paths.items():
        embedder = make_embedder("onnx", model, cache_dir=folder / "unused", batch_size=8)
        embedder.model_file = lambda path=path: path  # this variant instead of the cached one
        embedder.load()
        embedders[name] = embedder
    texts = passage_texts(load_records(DEFAULT_CORPUS, args.limit), embedders["eager"])
    print(f"{len(texts)} passages, batch 8, {os.cpu_count()} cpus")
    vectors, rates = {}, {name: [] for name in embedders}
    for _ in range(3):
        for name, embedder in embedders.items():
            embedder.encode(texts[:8])
            start = time.perf_counter()
            vectors[name] = embedder.encode(texts)
            rates[name].append(len(texts) / (time.perf_counter() - start))
    reference = vectors["eager+fused"]
    print("| file | passages/s (3 rounds) | mean | max abs difference from eager+fused |")
    print("| --- | --- | --- | --- |")
    for name, values in rates.items():
        difference = np.abs(vectors[name] - reference).max()
        print(
            f"| {name} | {', '.join(f'{v:.1f}' for v in values)} | {np.mean(values):.1f} "
            f"| {difference:.2e} |"
        )
    cosine = (vectors["int8(sdpa)"] * vectors["int8(eager+fused)"]).sum(axis=1)
    print(
        f"int8(sdpa) vs int8(eager+fused): mean cosine {cosine.mean():.5f}, min {cosine.min():.5f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
