"""Retrieval evaluation at article level: MRR@10, Recall@10 and nDCG@10 (via ir-measures).

A query is answered by the archive's normal search (one result per article), so the figures
measure exactly what a user gets. Queries whose `title_body_overlap` is below 0.5 are also
reported on their own: there the headline shares few words with the body and keyword search
struggles.

A label naming an exact copy is resolved to the article the copy is stored as, on both sides
(labels and results), since a copy is never a result of its own. Two modes are compared per
query, with a paired bootstrap interval and a randomisation test, so a difference of a few
thousandths is not read as a win.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import InputError

LOW_OVERLAP = 0.5
METRICS = ("mrr", "recall", "ndcg")


def load_queries(path: str | Path) -> list[dict[str, Any]]:
    """Lines `{qid, query, relevant_ids}`; a bad line is an InputError naming the line."""
    queries = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: malformed JSON ({exc.msg})") from exc
        if (
            not isinstance(record, dict)
            or not record.get("query")
            or not record.get("relevant_ids")
        ):
            raise InputError(f"{path}:{number}: expected {{qid, query, relevant_ids}}")
        record.setdefault("qid", f"q{number}")
        queries.append(record)
    if not queries:
        raise InputError(f"{path}: no queries")
    return queries


def per_query_scores(
    queries: Sequence[dict[str, Any]], runs: dict[str, list[str]], depth: int
) -> dict[str, dict[str, float]]:
    """qid -> {mrr, recall, ndcg} for ranked article ids per qid (a query with no results
    scores zero)."""
    import ir_measures
    from ir_measures import RR, R, nDCG

    qrels = {str(q["qid"]): {str(d): 1 for d in q["relevant_ids"]} for q in queries}
    # Strictly decreasing scores, so the evaluator keeps our order (it re-sorts by score).
    run = {
        str(q["qid"]): {doc: float(depth - rank) for rank, doc in enumerate(runs[str(q["qid"])])}
        for q in queries
    }
    names = {f"RR@{depth}": "mrr", f"R@{depth}": "recall", f"nDCG@{depth}": "ndcg"}
    scores: dict[str, dict[str, float]] = {qid: dict.fromkeys(METRICS, 0.0) for qid in qrels}
    for metric in ir_measures.iter_calc([RR @ depth, R @ depth, nDCG @ depth], qrels, run):
        scores[metric.query_id][names[str(metric.measure)]] = metric.value
    return scores


def score_runs(
    queries: Sequence[dict[str, Any]], runs: dict[str, list[str]], depth: int
) -> dict[str, float]:
    """Aggregate metrics for ranked article ids per qid."""
    return means(per_query_scores(queries, runs, depth))


def means(scores: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over the queries."""
    return {key: statistics.fmean(s[key] for s in scores.values()) for key in METRICS}


def resolve_copies(
    queries: Sequence[dict[str, Any]], owners: Callable[[Sequence[str]], dict[str, str]]
) -> list[dict[str, Any]]:
    """Labels naming an exact copy point at the article it is stored as (a copy is never a
    result of its own, so it would count as a miss); duplicates collapse."""
    ids = {str(i) for q in queries for i in q["relevant_ids"]}
    owner = owners(sorted(ids))
    resolved = []
    for query in queries:
        relevant = list(dict.fromkeys(owner.get(str(i), str(i)) for i in query["relevant_ids"]))
        resolved.append({**query, "relevant_ids": relevant})
    return resolved


def evaluate(
    archive: Any,
    queries: Sequence[dict[str, Any]],
    *,
    mode: str = "hybrid",
    depth: int = 10,
    per_query: bool = False,
    owners: Callable[[Sequence[str]], dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Run every query through `archive.search` and score the article rankings.

    `owners` maps ids recorded as exact copies to their stored article, applied to the labels
    and to the results alike. `per_query` adds, per query, the rank of the first relevant
    result, the top hit and the query's scores (what `compare` pairs).
    """
    if owners is not None:
        queries = resolve_copies(queries, owners)
    runs: dict[str, list[str]] = {}
    tops: dict[str, dict[str, Any] | None] = {}
    latencies = []
    for query in queries:
        started = time.perf_counter()
        response = archive.search(query["query"], limit=depth, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        ids = [h.article.id for h in response.hits]
        if owners is not None:
            found = owners(ids)
            ids = [found.get(i, i) for i in ids]
        qid = str(query["qid"])
        runs[qid] = list(dict.fromkeys(ids))
        first = response.hits[0].article if response.hits else None
        tops[qid] = {"id": first.id, "title": first.title} if first else None
    scores = per_query_scores(queries, runs, depth)
    result: dict[str, Any] = {
        "mode": mode,
        "queries": len(queries),
        **means(scores),
        "mean_latency_ms": statistics.fmean(latencies),
    }
    low = [q for q in queries if q.get("title_body_overlap", 1.0) < LOW_OVERLAP]
    if low and len(low) < len(queries):
        result["low_overlap"] = {"queries": len(low), **score_runs(low, runs, depth)}
    if per_query:
        result["per_query"] = [
            {
                "qid": str(q["qid"]),
                "query": q["query"],
                "first_relevant": first_relevant(runs[str(q["qid"])], q["relevant_ids"]),
                "top": tops[str(q["qid"])],
                **scores[str(q["qid"])],
            }
            for q in queries
        ]
    return result


def first_relevant(ranked: list[str], relevant: Sequence[str]) -> int | None:
    """The rank (from 1) of the first relevant article, None when none is in the run."""
    wanted = {str(r) for r in relevant}
    return next((rank for rank, doc in enumerate(ranked, start=1) if doc in wanted), None)


def compare(
    baseline: dict[str, Any],
    other: dict[str, Any],
    *,
    resamples: int = 10_000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """How sure a difference between two modes is, per metric, on the same queries.

    Paired: each query's score under `other` minus under `baseline`. The 95% interval of the
    mean difference comes from a paired bootstrap (queries resampled with replacement), the
    p-value from a paired randomisation test (each query's difference flipped in sign at
    random), both with `resamples` draws from a fixed seed, so a rerun gives the same figures.
    A difference whose interval straddles 0 is not a win.
    """
    import numpy as np

    pairs = {row["qid"]: row for row in baseline["per_query"]}
    rows = [(pairs[row["qid"]], row) for row in other["per_query"] if row["qid"] in pairs]
    rng = np.random.default_rng(seed)
    n = len(rows)
    picks = rng.integers(0, n, size=(resamples, n))
    signs = rng.choice([-1.0, 1.0], size=(resamples, n))
    out = []
    for metric in METRICS:
        diff = np.array([b[metric] - a[metric] for a, b in rows])
        means = diff[picks].mean(axis=1)
        observed = diff.mean()
        flipped = np.abs((signs * diff).mean(axis=1))
        p_value = (1 + int((flipped >= abs(observed) - 1e-12).sum())) / (resamples + 1)
        low, high = np.percentile(means, [2.5, 97.5])
        out.append(
            {
                "baseline": baseline["mode"],
                "mode": other["mode"],
                "metric": metric,
                "queries": n,
                "difference": float(observed),
                "ci95": [float(low), float(high)],
                "p_value": float(p_value),
            }
        )
    return out
