"""Peak memory of `newsarchive ingest` on each hostile input, under the default limits.

    python bench/hostile.py [--json]

Makes the hostile files of tests/hostile_files.py (compression bombs, a 200 MB text file, a
50 MB JSON line, 31 million bad lines, deep nesting, random bytes, surrogates, ...) plus an
HTTP server whose answer never ends, ingests each in its own process on the model-free test
embedder, and prints each one's exit code, first message, wall time and peak resident memory
(the kernel's per-process ru_maxrss), against a valid one-article ingest as the baseline.
"""

from __future__ import annotations

import argparse
import http.server
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hostile_files import EndlessAnswer, make_all  # noqa: E402
from processes import hash_env, measured_peak  # noqa: E402


def largest_accepted(folder: Path) -> list[tuple[str, str]]:
    """Inputs just under the file limit, which are read: the most memory a valid one costs."""
    from newsarchive.archive.config import configured_limits

    folder.mkdir()
    limit = configured_limits().file_bytes - 4096
    paragraph = "<p>" + " ".join(f"word{j} text" for j in range(100)) + ".</p>\n"
    page = folder / "largest.html"
    page.write_text(
        "<html><head><title>Largest page</title></head><body><article>"
        + paragraph * (limit // len(paragraph))
        + "</article></body></html>"
    )
    record = {"body": " ".join(f"wd{j} text" for j in range(100)) + "."}
    size = len(json.dumps(record)) + 20
    document = folder / "largest.json"
    document.write_text(json.dumps([dict(record, id=f"a{i}") for i in range(limit // size)]))
    return [
        (str(page), "an HTML page just under the file limit (read)"),
        (str(document), "a JSON document just under the file limit (read)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        files = make_all(folder / "hostile")
        good = folder / "good.jsonl"
        good.write_text(json.dumps({"id": "g", "body": "One valid article."}) + "\n")
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EndlessAnswer)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/endless.html"
        inputs = [(str(good), "a valid one-article file (baseline)")]
        inputs += [(str(path), what) for path, what in files.items()]
        inputs.append((url, "an HTTP answer that never ends"))
        inputs += largest_accepted(folder / "largest")
        env = hash_env()
        for argument, what in inputs:
            data = folder / "data"
            args = ["ingest", argument, "--data", str(data), "--allow-private"]
            started = time.perf_counter()
            done = measured_peak(args, env=env, timeout=600)
            lines = done.stderr.strip().splitlines()
            rows.append(
                {
                    "input": Path(argument).name if "://" not in argument else "endless.html",
                    "what": what,
                    "exit": done.returncode,
                    "messages": len(lines),
                    "first": lines[0][:110] if lines else done.stdout.strip()[:110],
                    "seconds": round(time.perf_counter() - started, 1),
                    "peak_rss_mb": round(done.peak_rss_mb, 1),
                }
            )
        server.shutdown()
    if options.json:
        print(json.dumps(rows, indent=2))
        return
    print("| input | what | exit | peak RSS MB | s | first message |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        first = r["first"].replace("|", "\\|")
        print(
            f"| {r['input']} | {r['what']} | {r['exit']} | {r['peak_rss_mb']} | {r['seconds']} "
            f"| {first} |"
        )
    refused = [r for r in rows[1:] if r["exit"] != 0]
    worst = max(refused, key=lambda r: r["peak_rss_mb"])
    largest = max(rows[1:], key=lambda r: r["peak_rss_mb"])
    print(
        f"\nworst refused input: {worst['input']} at {worst['peak_rss_mb']} MB; most of all: "
        f"{largest['input']} at {largest['peak_rss_mb']} MB "
        f"(baseline {rows[0]['peak_rss_mb']} MB)"
    )


if __name__ == "__main__":
    main()
