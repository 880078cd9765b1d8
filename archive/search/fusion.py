"""Combine the semantic and keyword candidate lists into one ranking. Pure functions over
(id, score) lists: no storage, no model.

The default for `hybrid` is `score_fusion`: article-level score fusion with lead evidence.
Each list's scores are divided by the list's best score (cosines and BM25 on a 0..1 scale,
whatever engine produced them); a candidate absent from a list gets that list's lowest score.
Each candidate article is scored from its best passage, its first passage (news puts the story
in its opening) and its lead sentence (ingest/leads.py), on both sides:

    score(a) = alpha * (D_max + first_passage * D_first + lead * D_lead)
             + (1 - alpha) * (K_max + first_passage * K_first + lead * K_lead)

with D the normalised cosine, K the normalised BM25, `_max` over the article's passages,
`_first` its first passage's, `_lead` its lead sentence's (the cosine to the lead's vector, and
BM25 over the leads' own FTS index). The article is shown with its passage of highest
alpha * d + (1 - alpha) * k. On both dev sets it beats plain reciprocal rank fusion (k=60) by
0.03-0.05 MRR@10, significantly, and by more on queries that share few words with the story
(bench/README.md); the constants were chosen by cross-validation over folds of both dev sets.

Reciprocal rank fusion (`reciprocal_rank_fusion`) only looks at ranks; it stays selectable
(`SearchRequest.fusion`): `rrf` is the previous default (k=5, keyword weight 0.5), `rrf60`
the plain baseline (k=60, equal weights) the benchmark compares against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

RRF_K = 5
# (semantic, keyword): BM25 catches exact names and numbers but is the weaker ranker on
# paraphrased queries, so it breaks ties rather than leads.
HYBRID_WEIGHTS = (1.0, 0.5)
PLAIN_RRF_K = 60  # the textbook constant: the baseline any user could assemble
LEAD_DEPTH = 1000  # leads the lead keyword list holds: the best-matching leads of the archive
FUSIONS = ("score", "rrf", "rrf60")


@dataclass(frozen=True)
class ScoreWeights:
    """The constants of `score_fusion` (chosen by 5-fold cross-validation, bench/README.md)."""

    alpha: float = 0.65  # the semantic side's share; the keyword side gets 1 - alpha
    first_passage: float = 0.3  # the article's first passage, beside its best one
    lead: float = 0.3  # the article's lead sentence (ingest/leads.py)


SCORE_WEIGHTS = ScoreWeights()


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]],
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[int, float]]:
    """Ranked id lists -> [(id, fused score)], best first; ties broken by id for stable paging."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def normalised(
    ranked: Sequence[tuple[object, float]], depth: int | None = None
) -> tuple[dict[object, float], float]:
    """A candidate list's scores divided by its best (when positive) -> (id -> score, what an
    absent candidate gets). A list cut at `depth` (or of unknown depth) gives the absent its
    lowest score: they scored at most that. A shorter list holds every match, so the absent
    matched nothing and get 0: otherwise a query whose rare word matches one passage would
    give every passage that passage's keyword score."""
    if not ranked:
        return {}, 0.0
    top = max(score for _, score in ranked)
    scale = top if top > 0 else 1.0
    scores = {item: score / scale for item, score in ranked}
    complete = depth is not None and len(ranked) < depth
    return scores, 0.0 if complete else min(scores.values())


def passage_fusion(
    semantic: Sequence[tuple[int, float]],
    keyword: Sequence[tuple[int, float]],
    alpha: float = SCORE_WEIGHTS.alpha,
    keyword_depth: int | None = None,
) -> list[tuple[int, float]]:
    """Passages by alpha * d + (1 - alpha) * k (normalised scores, absent as `normalised`
    says; the keyword list was asked to `keyword_depth`), best first, ties by id: the
    passage-level half of `score_fusion`."""
    dense, dense_floor = normalised(semantic)  # every passage has a cosine: never complete
    lexical, lexical_floor = normalised(keyword, keyword_depth)
    scores = {
        pid: alpha * dense.get(pid, dense_floor) + (1 - alpha) * lexical.get(pid, lexical_floor)
        for pid in dict.fromkeys([p for p, _ in semantic] + [p for p, _ in keyword])
    }
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def score_fusion(
    semantic: Sequence[tuple[int, float]],
    keyword: Sequence[tuple[int, float]],
    article_of: Mapping[int, str],
    first_passage: Mapping[str, int] | None = None,
    lead_cosines: Mapping[str, float] | None = None,
    lead_keyword: Sequence[tuple[str, float]] | None = None,
    weights: ScoreWeights = SCORE_WEIGHTS,
    keyword_depth: int | None = None,
    lead_depth: int | None = LEAD_DEPTH,
) -> list[tuple[int, float]]:
    """Article-level score fusion (the module docstring): the candidate passages ordered by
    their article's score, each article's shown passage first, then its other candidates;
    every passage carries its article's score. Ties by the shown passage's id, for stable
    paging.

    `article_of`: passage id -> article id (a passage missing is skipped: removed since
    retrieval); `first_passage`: article id -> its position-0 passage id (needed only where
    that passage is a candidate: otherwise its scores are the lists' lowest); `lead_cosines`:
    article id -> cosine of the query and its lead (articles without a lead left out);
    `lead_keyword`: [(article id, BM25 of its lead)], best first, over the whole archive;
    `keyword_depth` and `lead_depth`: how deep the keyword list and the lead list were asked
    (`normalised`: what an absent candidate gets; a cosine list is always taken as cut).
    Without lead evidence (an archive whose leads `reindex` has not filled yet) those terms
    are absent.
    """
    alpha = weights.alpha
    dense, dense_floor = normalised(semantic)  # every passage has a cosine: never complete
    lexical, lexical_floor = normalised(keyword, keyword_depth)
    first_passage = first_passage or {}
    # article -> [D_max, K_max, shown passage's score, shown passage id]
    best: dict[str, list] = {}
    shown: dict[int, float] = {}
    for pid in dict.fromkeys([p for p, _ in semantic] + [p for p, _ in keyword]):
        article = article_of.get(pid)
        if article is None:
            continue
        d, k = dense.get(pid, dense_floor), lexical.get(pid, lexical_floor)
        own = shown[pid] = alpha * d + (1 - alpha) * k
        row = best.get(article)
        if row is None:
            best[article] = [d, k, own, pid]
            continue
        row[0] = max(row[0], d)
        row[1] = max(row[1], k)
        if own > row[2] or (own == row[2] and pid < row[3]):
            row[2], row[3] = own, pid
    first_dense: dict[str, float] = {}
    if lead_cosines:
        top = max((lead_cosines.get(a, 0.0) for a in best), default=0.0)
        scale = top if top > 0 else 1.0
        first_dense = {a: lead_cosines.get(a, 0.0) / scale for a in best}
    first_lexical, first_floor = normalised(lead_keyword or [], lead_depth)
    article_score: dict[str, float] = {}
    for article, (d_max, k_max, _, _) in best.items():
        lead_pid = first_passage.get(article)
        lead_in = lead_pid in shown
        d_lead = dense.get(lead_pid, dense_floor) if lead_in else dense_floor
        k_lead = lexical.get(lead_pid, lexical_floor) if lead_in else lexical_floor
        dense_side = (
            d_max + weights.first_passage * d_lead + weights.lead * first_dense.get(article, 0.0)
        )
        keyword_side = k_max + weights.first_passage * k_lead
        if first_lexical:
            keyword_side += weights.lead * first_lexical.get(article, first_floor)
        article_score[article] = alpha * dense_side + (1 - alpha) * keyword_side

    def order(pid: int) -> tuple[float, int, int, float, int]:
        article = article_of[pid]
        head = best[article][3]
        return (-article_score[article], head, pid != head, -shown[pid], pid)

    return [(pid, article_score[article_of[pid]]) for pid in sorted(shown, key=order)]
