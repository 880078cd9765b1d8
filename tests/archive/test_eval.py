"""`eval` a researcher can trust: labels naming an exact copy count for the article it is
stored as, `per_query` says where each query found its article, and comparing modes gives a
paired confidence interval instead of two bare means."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsarchive.archive import Archive
from newsarchive.archive.evaluate import compare

from conftest import NEWS, write_jsonl


@pytest.fixture
def with_copy(archive: Archive) -> Archive:
    copy = dict(NEWS[0], id="wheat-copy", source="Grain Daily")  # same text: stored as a copy
    report = archive.ingest_articles([dict(r) for r in NEWS] + [copy])
    assert report.exact_copies == 1
    return archive


QUERIES = [
    {"qid": "copy-only", "query": "Wheat exports climb", "relevant_ids": ["wheat-copy"]},
    {"qid": "both", "query": "Wheat exports climb", "relevant_ids": ["wheat-1", "wheat-copy"]},
    {"qid": "derby", "query": "Late goal wins the derby", "relevant_ids": ["football-1"]},
    {"qid": "nowhere", "query": "Cats adopt a lighthouse keeper", "relevant_ids": ["none"]},
]


def test_a_label_naming_an_exact_copy_counts_for_its_article(with_copy: Archive):
    result = with_copy.evaluate(QUERIES, mode="keyword", per_query=True)
    rows = {r["qid"]: r for r in result["per_query"]}
    assert rows["copy-only"]["mrr"] == 1.0  # was a miss: a copy is never a result itself
    assert rows["both"]["recall"] == 1.0  # was 0.5: the copy and its article are one
    assert result["mrr"] == pytest.approx(3 / 4)


def test_per_query_gives_the_first_relevant_rank_and_the_top_hit(with_copy: Archive):
    result = with_copy.evaluate(QUERIES, mode="keyword", per_query=True)
    rows = {r["qid"]: r for r in result["per_query"]}
    assert rows["derby"]["first_relevant"] == 1
    assert rows["derby"]["top"] == {"id": "football-1", "title": "Late goal wins the derby"}
    assert rows["nowhere"]["first_relevant"] is None
    assert "per_query" not in with_copy.evaluate(QUERIES, mode="keyword")


def test_comparing_modes_gives_a_paired_interval_and_p_value(with_copy: Archive, tmp_path: Path):
    path = write_jsonl(tmp_path / "q.jsonl", QUERIES)
    result = with_copy.compare(path, ["keyword", "hybrid"])
    assert [r["mode"] for r in result["modes"]] == ["keyword", "hybrid"]
    assert all("per_query" not in r for r in result["modes"])
    first = result["comparisons"][0]
    assert [c["metric"] for c in result["comparisons"]] == ["mrr", "recall", "ndcg"]
    assert (first["baseline"], first["mode"], first["queries"]) == ("keyword", "hybrid", 4)
    low, high = first["ci95"]
    assert low <= first["difference"] <= high and 0 < first["p_value"] <= 1
    again = with_copy.compare(path, ["keyword", "hybrid"])
    assert again["comparisons"] == result["comparisons"]  # a fixed seed: the same figures


def rows(scores: list[float]) -> list[dict]:
    return [{"qid": str(i), "mrr": s, "recall": s, "ndcg": s} for i, s in enumerate(scores)]


def test_a_tiny_difference_is_not_a_win_and_a_clear_one_is():
    base = {"mode": "a", "per_query": rows([1.0, 0.5, 0.0, 1.0, 0.5] * 20)}
    noisy = {
        "mode": "b",
        "per_query": rows([1.0, 0.5, 0.0, 1.0, 0.5] * 19 + [1.0, 0.5, 0.5, 0.5, 0.5]),
    }
    (same, *_) = compare(base, noisy)
    assert same["difference"] == pytest.approx(0.0)
    assert same["ci95"][0] < 0 < same["ci95"][1] and same["p_value"] > 0.5
    better = {"mode": "c", "per_query": rows([1.0] * 100)}
    (win, *_) = compare(base, better)
    assert win["difference"] == pytest.approx(0.4)
    assert win["ci95"][0] > 0 and win["p_value"] < 0.001
    assert compare(base, better) == compare(base, better)  # a fixed seed: the same figures
