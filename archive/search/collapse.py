"""From ranked passages to ranked stories: one result per article (its best passage), then one
per cluster of copies (its best-ranked member), naming the other outlets in `also_in`."""

from __future__ import annotations

from typing import Any

from ..urls import domain_of

Ranked = list[tuple[int, float]]  # (passage id, score), best first


def group_by_article(
    ranked: Ranked, article_of: dict[int, str]
) -> tuple[Ranked, dict[int, list[int]]]:
    """Keep each article's best passage; remember the article's other matching passages."""
    best: dict[str, int] = {}
    grouped: Ranked = []
    others: dict[int, list[int]] = {}
    for pid, score in ranked:
        article_id = article_of.get(pid)
        if article_id is None:  # removed since it was ranked
            continue
        if article_id in best:
            others[best[article_id]].append(pid)
            continue
        best[article_id] = pid
        others[pid] = []
        grouped.append((pid, score))
    return grouped, others


def collapse(ranked: Ranked, article_of: dict[int, str], cluster_of: dict[str, str]) -> Ranked:
    """Keep the best-ranked hit of each cluster (`ranked` holds one passage per article)."""
    seen: set[str] = set()
    kept = []
    for pid, score in ranked:
        article_id = article_of.get(pid)
        if article_id is None:
            continue
        cluster = cluster_of.get(article_id, article_id)
        if cluster in seen:
            continue
        seen.add(cluster)
        kept.append((pid, score))
    return kept


def source_label(item: dict[str, Any]) -> str:
    """What "also in" names: the outlet, else the URL's site, else the id."""
    return item.get("source") or domain_of(item.get("url")) or str(item.get("id"))


def also_in(own: dict[str, Any], copies: list[dict[str, Any]]) -> list[str]:
    """Distinct outlets of the other copies, the hit's own outlet excluded."""
    mine = source_label(own)
    labels = [source_label(c) for c in copies]
    return [label for label in dict.fromkeys(labels) if label != mine]
