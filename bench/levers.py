"""Issue 15's two levers that had no figures: overlapping-window passages and a label-free
fine-tune of the embedding model, each against today's default ranking on the same archive.

    .venv/bin/python bench/levers.py windows  [--sets bbc,reuters] [--work DIR]
    .venv/bin/python bench/levers.py finetune --model bbc=DIR [--model reuters=DIR] [--work DIR]

Both start from the bodies-only dev-set archives (`bench/eval.py` builds them; `--work`
holds a `devsets/NAME` copy of each, made once from bench/.work/NAME when absent) and never
write into them: each variant is a folder copy beside them.

- `windows`: the copy gets a **bridge passage** across every boundary between two consecutive
  passages of an article (the second half of the left passage's sentences and the first half
  of the right one's, so each boundary sits inside a window that overlaps both neighbours by
  half), embedded with the archive's own model. Positions are doubled so the bridges sit
  between their passages and the first passage (position 0, the lead prior's) is unchanged;
  the lead rows are untouched. Hybrid (the default, `fusion=score`), semantic and keyword
  are run on both archives and paired query by query.
- `finetune`: the copy is re-embedded (`Archive.reindex(reembed=True)`) with the fine-tuned
  model folder (`bench/finetune.py`), passages and leads alike; hybrid and semantic are
  paired against the original model's archive.

Every row: MRR@10 / nDCG@10 / R@10 on all queries and on `title_body_overlap < 0.5`, and the
difference to the same ranking without the lever, with its 95% paired bootstrap interval and
randomisation p (10,000 draws, seed 0: `newsarchive.archive.evaluate.compare`). Reads
../shared/; exits with a message when it is absent. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
QUERIES = {
    "bbc": SHARED / "eval" / "bbc_headlines.jsonl",
    "reuters": SHARED / "eval" / "reuters21578_headlines.jsonl",
}
FILES = ("archive.db", "vectors.faiss", "vectors.json")


def copy_archive(src: Path, dest: Path) -> None:
    """A plain copy of a closed archive's files (database, FAISS file, its manifest)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        if (src / name).exists():
            shutil.copy2(src / name, dest / name)


def base_archive(name: str, work: Path) -> Path:
    """work/devsets/NAME: the bodies-only dev archive, copied once from bench/eval.py's."""
    target = work / "devsets" / name
    if not (target / "archive.db").exists():
        sys.path.insert(0, str(ROOT / "bench"))
        import eval as bench_eval  # bench/eval.py builds it under bench/.work

        bench_eval.open_archive(name, ROOT / "bench" / ".work").close()
        copy_archive(ROOT / "bench" / ".work" / name, target)
    return target


def bridges(rows: list[tuple[int, str, int, str]]) -> list[tuple[str, int, str]]:
    """(passage id, article id, position, text) in article/position order -> the bridge
    passages (article id, position, text): the second half of each passage's sentences and
    the first half of the next one's; a one-sentence passage gives half its words."""
    from newsarchive.archive.ingest.passages import split_sentences

    def halves(text: str) -> tuple[str, str]:
        parts = split_sentences(text)
        if len(parts) < 2:
            parts = text.split()
        cut = len(parts) // 2
        return " ".join(parts[:cut]), " ".join(parts[cut:])

    out = []
    for (_, art, pos, left), (_, art_next, _, right) in zip(rows, rows[1:]):
        if art != art_next:
            continue
        text = f"{halves(left)[1]} {halves(right)[0]}".strip()
        if text:
            out.append((art, 2 * pos + 1, text))
    return out


def add_windows(path: Path) -> dict:
    """Bridge passages into the archive at `path`: embedded, stored, FAISS rebuilt."""
    import numpy as np

    from newsarchive.archive import Archive
    from newsarchive.archive.ingest.embed import input_hash

    archive = Archive(path, create=False)
    with archive.store.reading() as conn:
        rows = conn.execute(
            "SELECT id, article_id, position, text FROM passages ORDER BY article_id, position"
        ).fetchall()
    extra = bridges(rows)
    started, cpu = time.perf_counter(), time.process_time()
    vectors = archive.embedder.encode([t for _, _, t in extra]) if extra else np.zeros((0, 384))
    encode_s, encode_cpu = time.perf_counter() - started, time.process_time() - cpu
    with archive.store.write() as conn:
        conn.execute("UPDATE passages SET position = 2 * position")
        conn.executemany(
            "INSERT INTO passages (article_id, position, text, text_hash, vector) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (
                    art,
                    pos,
                    text,
                    input_hash(text, "", 0.0),
                    np.ascontiguousarray(v, dtype=np.float32).tobytes(),
                )  # fmt: skip
                for (art, pos, text), v in zip(extra, vectors)
            ],
        )
    started = time.perf_counter()
    report = archive.reindex()
    archive.close()
    return {
        "passages": len(rows),
        "bridges": len(extra),
        "encode_s": round(encode_s, 1),
        "encode_cpu_s": round(encode_cpu, 1),
        "reindex_s": round(time.perf_counter() - started, 1),
        "index": report["passages"],
    }


def table_header() -> None:
    print("| set | queries | mode | variant | MRR@10 | nDCG@10 | R@10 "
          "| Δ MRR [95% CI] p | Δ nDCG [95% CI] p | Δ R@10 [95% CI] p |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def paired_rows(name: str, mode: str, labels: tuple[str, str], runs: list[dict]) -> None:
    """Both runs' means and the second's paired difference, all queries and low-overlap."""
    from newsarchive.archive.evaluate import LOW_OVERLAP, compare, load_queries

    queries = load_queries(QUERIES[name])
    low = {str(q["qid"]) for q in queries if q.get("title_body_overlap", 1.0) < LOW_OVERLAP}
    for subset, keep in (("all", lambda qid: True), ("overlap < 0.5", lambda qid: qid in low)):
        pair = [
            {"mode": r["mode"], "per_query": [q for q in r["per_query"] if keep(q["qid"])]}
            for r in runs
        ]
        n = len(pair[0]["per_query"])
        diffs = {row["metric"]: row for row in compare(pair[0], pair[1])}
        for label, run, first in ((labels[0], pair[0], True), (labels[1], pair[1], False)):
            mean = {m: sum(q[m] for q in run["per_query"]) / n for m in ("mrr", "ndcg", "recall")}
            cells = ["—"] * 3 if first else [
                f"{d['difference']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] "
                f"p={d['p_value']:.4f}"
                for d in (diffs["mrr"], diffs["ndcg"], diffs["recall"])
            ]  # fmt: skip
            print(f"| {name} | {subset} ({n}) | {mode} | {label} | {mean['mrr']:.3f} "
                  f"| {mean['ndcg']:.3f} | {mean['recall']:.3f} | {' | '.join(cells)} |",
                  flush=True)  # fmt: skip


def cmd_windows(args) -> int:
    from newsarchive.archive import Archive

    results = {}
    for name in args.sets:
        base = base_archive(name, args.work)
        target = args.work / "windows" / name
        if not (target / "archive.db").exists():
            copy_archive(base, target)
            info = add_windows(target)
            (target / "windows.txt").write_text(repr(info))
        results[name] = eval((target / "windows.txt").read_text())
    print("\n## Overlapping windows (bridge passages), today's default hybrid on top\n")
    for name, info in results.items():
        print(f"- {name}: {info['passages']} passages + {info['bridges']} bridges "
              f"(+{100 * info['bridges'] / info['passages']:.0f}% passages to embed and index; "
              f"bridges encoded in {info['encode_s']} s wall / {info['encode_cpu_s']} s CPU)")  # fmt: skip
    print()
    table_header()
    for name in args.sets:
        archives = [Archive(p, create=False) for p in (
            args.work / "devsets" / name, args.work / "windows" / name)]  # fmt: skip
        for mode in args.modes:
            runs = [a.evaluate(QUERIES[name], mode=mode, per_query=True) for a in archives]
            paired_rows(name, mode, ("passages", "passages + bridges"), runs)
        for a in archives:
            a.close()
    return 0


def cmd_finetune(args) -> int:
    from newsarchive.archive import Archive

    models = dict(item.split("=", 1) for item in args.model)
    print("\n## Label-free fine-tune (inverse cloze pairs), re-embedded dev archives\n")
    for name, folder in models.items():
        base = base_archive(name, args.work)
        target = args.work / "finetune" / f"{name}-{Path(folder).name}"
        if not (target / "archive.db").exists():
            copy_archive(base, target)
            tuned = Archive(target, model=folder, create=False)
            started, cpu = time.perf_counter(), time.process_time()
            report = tuned.reindex(reembed=True)
            took = f"{time.perf_counter() - started:.0f} s wall / {time.process_time() - cpu:.0f} s CPU"
            (target / "reembed.txt").write_text(f"{report['reembedded']} passages, {took}")
            tuned.close()
        print(f"- {name}: model {folder}; re-embedded {(target / 'reembed.txt').read_text()}")
    print()
    table_header()
    for name, folder in models.items():
        archives = [
            Archive(args.work / "devsets" / name, create=False),
            Archive(args.work / "finetune" / f"{name}-{Path(folder).name}", model=folder,
                    create=False),
        ]  # fmt: skip
        for mode in args.modes:
            runs = [a.evaluate(QUERIES[name], mode=mode, per_query=True) for a in archives]
            paired_rows(name, mode, ("all-MiniLM-L6-v2", f"fine-tuned ({Path(folder).name})"), runs)
        for a in archives:
            a.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("windows", "finetune"))
    parser.add_argument("--sets", default="bbc,reuters")
    parser.add_argument("--modes", default=None, help="default: hybrid,semantic,keyword")
    parser.add_argument("--model", action="append", default=[], help="SET=MODEL_DIR")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".work" / "levers")
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"{SHARED} not found: the dev sets are needed", file=sys.stderr)
        return 1
    args.sets = [s for s in args.sets.split(",") if s]
    default_modes = "hybrid,semantic,keyword" if args.command == "windows" else "hybrid,semantic"
    args.modes = (args.modes or default_modes).split(",")
    return cmd_windows(args) if args.command == "windows" else cmd_finetune(args)


if __name__ == "__main__":
    sys.exit(main())
