"""Bounded loopback load against a real `newsarchive serve`: several clients, each on its own
keep-alive connection, send a fixed mix of searches (GET and POST, every mode, filtered) and
writes (POST and DELETE of articles); every answer must be a success, and a search sees each
write at once. The latencies (p50/p99) are printed and written to load.json in the test's
folder."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from newsarchive.archive import Archive

from processes import corpus, hash_env, serving, text_of

pytestmark = pytest.mark.slow

CLIENTS = 4
REQUESTS_PER_CLIENT = 150


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def test_mixed_load_from_several_clients_has_no_errors(tmp_path: Path, hash_embedder):
    data = tmp_path / "data"
    with Archive(data, embedder=hash_embedder) as archive:
        archive.ingest_articles(
            [dict(r, topics=["even" if i % 2 else "odd"]) for i, r in enumerate(corpus(0, 500))]
        )
    errors: list[str] = []
    latencies: dict[str, list[float]] = {"search": [], "write": []}
    lock = threading.Lock()

    def client(number: int, url: str) -> None:
        rng = random.Random(number)
        with httpx.Client(base_url=url, timeout=60) as http:
            for step in range(REQUESTS_PER_CLIENT):
                i = rng.randrange(500)
                kind = "search"
                roll = rng.random()
                if roll < 0.45:
                    mode = rng.choice(["hybrid", "semantic", "keyword"])
                    request = http.build_request(
                        "GET", "/search", params={"q": f"harbour{i} cranes{i}", "mode": mode}
                    )
                elif roll < 0.8:
                    body = {"q": text_of(i), "where": {"topics": ["even"]}, "limit": 20}
                    request = http.build_request("POST", "/search", json=body)
                elif roll < 0.95:
                    kind = "write"
                    new = {"id": f"c{number}-{step}", "body": f"Fresh{number}x{step} news."}
                    request = http.build_request("POST", "/articles", json=new)
                else:
                    kind = "write"
                    request = http.build_request("DELETE", f"/articles/story-{number}{step}")
                started = time.perf_counter()
                response = http.send(request)
                took = time.perf_counter() - started
                ok = response.status_code == 200 or (
                    request.method == "DELETE" and response.status_code == 404
                )
                with lock:
                    latencies[kind].append(took)
                    if not ok:
                        errors.append(f"{request.method} {request.url}: {response.status_code}")
                if kind == "write" and request.method == "POST":
                    seen = http.get("/articles/" + new["id"])
                    if seen.status_code != 200:
                        with lock:
                            errors.append(f"write not visible: {new['id']}")

    with serving(data, hash_env()) as url:
        threads = [threading.Thread(target=client, args=(n, url)) for n in range(CLIENTS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    every = latencies["search"] + latencies["write"]
    result = {
        "clients": CLIENTS,
        "requests": len(every),
        "errors": len(errors),
        "seconds": round(seconds, 2),
        "per_second": round(len(every) / seconds, 1),
        **{
            f"{kind}_{name}_ms": round(percentile(values, share) * 1000, 1)
            for kind, values in (("all", every), *latencies.items())
            for name, share in (("p50", 0.5), ("p99", 0.99))
        },
    }
    (tmp_path / "load.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    assert errors == []
    assert len(every) == CLIENTS * REQUESTS_PER_CLIENT
