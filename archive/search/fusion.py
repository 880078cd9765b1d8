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

import numpy as np

from .owners import Owners, first_seen

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
    are absent. The work is `fuse_articles`'s, on the articles as codes (search/owners.py).
    """
    owners = Owners.of(first_seen(semantic, keyword), article_of)
    first = owners.per_article(first_passage, -1, np.int64) if first_passage else None
    cosines = owners.per_article(lead_cosines, 0.0, np.float64) if lead_cosines else None
    fused = fuse_articles(
        semantic,
        keyword,
        owners,
        first,
        cosines,
        lead_keyword,
        weights=weights,
        keyword_depth=keyword_depth,
        lead_depth=lead_depth,
    )
    return fused.ranked()


@dataclass(frozen=True)
class Fused:
    """`fuse_articles`' answer, one row per candidate passage in the final order: grouped by
    article (its shown passage first), each row with its article's score and code."""

    ids: np.ndarray
    scores: np.ndarray
    codes: np.ndarray
    shown: np.ndarray  # True on each article's shown passage (the first row of its article)

    def ranked(self) -> list[tuple[int, float]]:
        return list(zip(self.ids.tolist(), self.scores.tolist()))


def fuse_articles(
    semantic: Sequence[tuple[int, float]],
    keyword: Sequence[tuple[int, float]],
    owners: Owners,
    first_passage: np.ndarray | None = None,
    lead_cosines: np.ndarray | None = None,
    lead_keyword: Sequence[tuple[str, float]] | None = None,
    *,
    weights: ScoreWeights = SCORE_WEIGHTS,
    keyword_depth: int | None = None,
    lead_depth: int | None = LEAD_DEPTH,
) -> Fused:
    """`score_fusion` with the articles as codes: `owners` codes the candidates (the ids of
    both lists, each once, in first-seen order: `first_seen`); `first_passage` and
    `lead_cosines` are indexed by code (-1: first passage unknown; 0.0: no lead; None: none
    known at all). The same float64 operations in the same order as the formula written per
    passage, so the same scores to the bit (tests/unit/test_score_fusion.py keeps that
    per-passage version as the reference)."""
    alpha = weights.alpha
    dense, dense_floor = _normalised(semantic)  # every passage has a cosine: never complete
    lexical, lexical_floor = _normalised(keyword, keyword_depth)
    present = owners.codes >= 0
    ids = owners.passage_ids[present]
    code = owners.codes[present]
    if not len(ids):
        empty = np.zeros(0, dtype=np.int64)
        return Fused(empty, np.zeros(0), empty, np.zeros(0, dtype=bool))
    count = len(owners.articles)
    d = _scores_of(ids, dense, dense_floor)
    k = _scores_of(ids, lexical, lexical_floor)
    own = alpha * d + (1 - alpha) * k
    d_max = np.full(count, -np.inf)
    np.maximum.at(d_max, code, d)
    k_max = np.full(count, -np.inf)
    np.maximum.at(k_max, code, k)
    # each article's shown passage: its highest `own`, ties to the lowest id
    by_article = np.lexsort((ids, -own, code))
    starts = np.flatnonzero(np.r_[True, code[by_article][1:] != code[by_article][:-1]])
    head = np.empty(count, dtype=np.int64)
    head[code[by_article][starts]] = ids[by_article][starts]
    # the first passage's scores where it is a candidate, else the lists' lowest
    lead_row = np.full(count, -1, dtype=np.int64)
    if first_passage is not None:
        by_id = np.argsort(ids)
        at = np.minimum(np.searchsorted(ids[by_id], first_passage), len(ids) - 1)
        found = ids[by_id][at] == first_passage
        lead_row[found] = by_id[at[found]]
    lead_in = lead_row >= 0
    d_lead = np.where(lead_in, d[lead_row], dense_floor)
    k_lead = np.where(lead_in, k[lead_row], lexical_floor)
    first_dense = np.zeros(count)
    if lead_cosines is not None:
        top = lead_cosines.max()
        first_dense = lead_cosines / (top if top > 0 else 1.0)
    dense_side = d_max + weights.first_passage * d_lead + weights.lead * first_dense
    keyword_side = k_max + weights.first_passage * k_lead
    first_lexical, first_floor = normalised(lead_keyword or [], lead_depth)
    if first_lexical:
        leads = owners.per_article(first_lexical, first_floor, np.float64)
        keyword_side = keyword_side + weights.lead * leads
    article_score = alpha * dense_side + (1 - alpha) * keyword_side
    # by article score, then the shown passage's id; in an article its shown passage first,
    # then the others by their own score, ties by id
    shown_head = head[code]
    order = np.lexsort((ids, -own, ids != shown_head, shown_head, -article_score[code]))
    return Fused(ids[order], article_score[code[order]], code[order], (ids == shown_head)[order])


def _normalised(
    ranked: Sequence[tuple[int, float]], depth: int | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], float]:
    """`normalised` on arrays: ((ids ascending, their scores), what an absent id gets). An id
    listed twice keeps its last score, as the dict does."""
    if not ranked:
        return (np.zeros(0, dtype=np.int64), np.zeros(0)), 0.0
    ids = np.fromiter((p for p, _ in ranked), np.int64, len(ranked))
    raw = np.fromiter((s for _, s in ranked), np.float64, len(ranked))
    top = raw.max()
    scores = raw / (top if top > 0 else 1.0)
    unique, last = np.unique(ids[::-1], return_index=True)
    scores = scores[len(ids) - 1 - last]
    complete = depth is not None and len(ranked) < depth
    return (unique, scores), 0.0 if complete else float(scores.min())


def _scores_of(ids: np.ndarray, table: tuple[np.ndarray, np.ndarray], floor: float) -> np.ndarray:
    """Each id's score in a `_normalised` table, `floor` where it is absent."""
    known, scores = table
    if not len(known):
        return np.full(len(ids), floor)
    at = np.minimum(np.searchsorted(known, ids), len(known) - 1)
    return np.where(known[at] == ids, scores[at], floor)
