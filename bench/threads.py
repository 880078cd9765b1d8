"""Is there speed left in how the two cores are used? One session on two threads, against two
one-thread sessions encoding halves of the same passages side by side.

    .venv/bin/python bench/threads.py --backends onnx,onnx-int8

If the pair of one-thread sessions were much faster, ingest should encode two batches at once;
this measures whether onnxruntime's own intra-op threading already gets what the cores give.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from ingest import DEFAULT_CORPUS, WORK, load_records, passage_texts  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=150, help="articles")
    parser.add_argument("--passages", type=int, default=400)
    parser.add_argument("--backends", default="onnx,onnx-int8")
    args = parser.parse_args()
    if not DEFAULT_CORPUS.exists():
        print(f"{DEFAULT_CORPUS} not found; this benchmark needs ../shared/ (skipped)")
        return 0
    from newsarchive.index.embedders import make_embedder

    records = load_records(DEFAULT_CORPUS, args.limit)
    for backend in args.backends.split(","):

        def session(threads: int, backend: str = backend):
            embedder = make_embedder(backend, cache_dir=WORK / "models", batch_size=8)
            embedder.threads = threads
            embedder.load()
            return embedder

        both, one, other = session(2), session(1), session(1)
        texts = passage_texts(records, both)[: args.passages]
        half = len(texts) // 2
        for embedder in (both, one, other):
            embedder.encode(texts[:8])
        for _ in range(2):
            start = time.perf_counter()
            both.encode(texts)
            two_threads = len(texts) / (time.perf_counter() - start)
            start = time.perf_counter()
            one.encode(texts[:half])
            one_thread = half / (time.perf_counter() - start)
            start = time.perf_counter()
            side = threading.Thread(target=other.encode, args=(texts[half:],))
            side.start()
            one.encode(texts[:half])
            side.join()
            pair = len(texts) / (time.perf_counter() - start)
            print(
                f"{backend}: one session, 2 threads {two_threads:.1f}/s; one session, 1 thread "
                f"{one_thread:.1f}/s; two 1-thread sessions side by side {pair:.1f}/s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
