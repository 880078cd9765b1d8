"""A short contrastive fine-tune of the embedding model on pairs the archive itself provides.

    .venv/bin/python bench/finetune.py --db ARCHIVE.db --out MODEL_DIR --pairs 3000 [--kind ict]
    .venv/bin/python bench/finetune.py --corpus CORPUS.jsonl --exclude QUERIES.jsonl --kind title

Pairs (no labels):
- `ict` (inverse cloze task): a sentence of a passage -> the rest of that passage (the sentence
  removed), from the archive's own passages. Bodies only: no title is ever seen.
- `title`: an article's title -> its first passage, for archives that store titles; articles
  named by `--exclude` (the dev queries' targets) are left out, so the model never sees the
  titles it is judged on.

Training: in-batch negatives (InfoNCE, scale 20, i.e. sentence-transformers'
MultipleNegativesRankingLoss, written out), AdamW at 2e-5 with 10% warm-up, one epoch, batch
32, texts cut at 128 tokens, torch on the CPU. Writes a sentence-transformers folder to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SENT = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def ict_pairs(db: Path, n: int, seed: int = 0) -> list[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    texts = [r[0] for r in conn.execute("SELECT text FROM passages ORDER BY id")]
    rng = random.Random(seed)
    rng.shuffle(texts)
    pairs = []
    for text in texts:
        sentences = [s.strip() for s in SENT.split(text) if s.strip()]
        if len(sentences) < 3:
            continue
        i = rng.randrange(len(sentences))
        if len(sentences[i].split()) < 6:
            continue
        rest = " ".join(sentences[:i] + sentences[i + 1 :])
        pairs.append((sentences[i], rest))
        if len(pairs) == n:
            break
    return pairs


def title_pairs(corpus: Path, exclude: list[Path], n: int, seed: int = 0):
    held = set()
    for path in exclude:
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                held.update(str(x) for x in r["relevant_ids"])
    rows = []
    for line in corpus.read_text().splitlines():
        r = json.loads(line)
        if str(r["id"]) in held or not r.get("title"):
            continue
        paras = r.get("paragraphs") or [p for p in r.get("body", "").split("\n\n") if p.strip()]
        if not paras:
            continue
        lead = " ".join(paras[:2])
        rows.append((r["title"], lead))
    random.Random(seed).shuffle(rows)
    return rows[:n]


def train(pairs, out: Path, base: str | None, batch: int = 32, lr: float = 2e-5,
          max_tokens: int = 128, epochs: int = 1, threads: int = 2) -> dict:  # fmt: skip
    import torch
    from sentence_transformers import SentenceTransformer

    from newsarchive.index.embedders.model_folder import default_model_path

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = SentenceTransformer(
        str(base or default_model_path()), device="cpu", local_files_only=True
    )
    model.max_seq_length = max_tokens
    model.train()
    tokenize = getattr(model, "preprocess", None) or model.tokenize  # renamed in ST 5
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * (len(pairs) // batch)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    started, cpu_started = time.perf_counter(), time.process_time()
    losses = []
    step = 0
    for _ in range(epochs):
        for start in range(0, len(pairs) - batch + 1, batch):
            chunk = pairs[start : start + batch]
            feats_q = tokenize([a for a, _ in chunk])
            feats_c = tokenize([b for _, b in chunk])
            q = model(feats_q)["sentence_embedding"]
            c = model(feats_c)["sentence_embedding"]
            q = torch.nn.functional.normalize(q, dim=-1)
            c = torch.nn.functional.normalize(c, dim=-1)
            logits = 20.0 * q @ c.T
            loss = loss_fn(logits, torch.arange(len(chunk)))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optim.step()
            sched.step()
            optim.zero_grad()
            losses.append(loss.item())
            step += 1
            if step % 10 == 0 or step == steps:
                print(f"  step {step}/{steps} loss {sum(losses[-10:]) / len(losses[-10:]):.3f} "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    model.eval()
    model.max_seq_length = 256  # back to the base model's window for encoding
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    seconds = time.perf_counter() - started
    info = {"pairs": len(pairs), "steps": step, "seconds": round(seconds, 1),
            "cpu_seconds": round(time.process_time() - cpu_started, 1), "threads": threads,
            "first_loss": losses[0] if losses else None,
            "last_loss": sum(losses[-10:]) / max(1, len(losses[-10:]))}  # fmt: skip
    (out / "finetune.json").write_text(json.dumps(info, indent=1))
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, help="an archive.db (ict pairs)")
    parser.add_argument("--corpus", type=Path, help="a JSONL corpus with titles (title pairs)")
    parser.add_argument("--exclude", type=Path, action="append", default=[])
    parser.add_argument("--kind", choices=("ict", "title"), default="ict")
    parser.add_argument("--pairs", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.kind == "ict":
        pairs = ict_pairs(args.db, args.pairs)
    else:
        pairs = title_pairs(args.corpus, args.exclude, args.pairs)
    print(f"{len(pairs)} {args.kind} pairs; e.g. {pairs[0][0][:80]!r} -> {pairs[0][1][:80]!r}")
    info = train(pairs, args.out, None, args.batch, args.lr, args.max_tokens)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
