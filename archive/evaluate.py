"""Retrieval evaluation at article level: MRR@10, Recall@10 and nDCG@10 (via ir-measures).

A query is answered by the archive's normal search (one result per article), so the figures
measure exactly what a user gets. Queries whose `title_body_overlap` is below 0.5 are also
reported on their own: there the headline shares few words with the body and keyword search
struggles.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import InputError

LOW_OVERLAP = 0.5


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


def score_runs(
    queries: Sequence[dict[str, Any]], runs: dict[str, list[str]], depth: int
) -> dict[str, float]:
    """Aggregate metrics for ranked article ids per qid."""
    import ir_measures
    from ir_measures import RR, R, nDCG

    qrels = {str(q["qid"]): {str(d): 1 for d in q["relevant_ids"]} for q in queries}
    # Strictly decreasing scores, so the evaluator keeps our order (it re-sorts by score).
    run = {
        str(q["qid"]): {doc: float(depth - rank) for rank, doc in enumerate(runs[str(q["qid"])])}
        for q in queries
    }
    # A query with no results still counts (as zero) in every mean.
    measures = [RR @ depth, R @ depth, nDCG @ depth]
    per_query: dict[str, dict[str, float]] = {qid: {} for qid in qrels}
    for metric in ir_measures.iter_calc(measures, qrels, run):
        per_query[metric.query_id][str(metric.measure)] = metric.value
    names = {"mrr": f"RR@{depth}", "recall": f"R@{depth}", "ndcg": f"nDCG@{depth}"}
    return {
        key: statistics.fmean(per_query[qid].get(name, 0.0) for qid in qrels)
        for key, name in names.items()
    }


def evaluate(
    archive: Any,
    queries: Sequence[dict[str, Any]],
    *,
    mode: str = "hybrid",
    depth: int = 10,
) -> dict[str, Any]:
    """Run every query through `archive.search` and score the article rankings."""
    runs: dict[str, list[str]] = {}
    latencies = []
    for query in queries:
        started = time.perf_counter()
        response = archive.search(query["query"], limit=depth, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        runs[str(query["qid"])] = list(dict.fromkeys(h.article.id for h in response.hits))
    result: dict[str, Any] = {
        "mode": mode,
        "queries": len(queries),
        **score_runs(queries, runs, depth),
        "mean_latency_ms": statistics.fmean(latencies),
    }
    low = [q for q in queries if q.get("title_body_overlap", 1.0) < LOW_OVERLAP]
    if low and len(low) < len(queries):
        result["low_overlap"] = {"queries": len(low), **score_runs(low, runs, depth)}
    return result
