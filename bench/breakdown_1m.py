"""Where a wired hybrid query's time goes at 1M: each stage timed alone, same queries."""

# ruff: noqa: B023 (each lambda is called at once, inside its loop turn)

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))
from keyword_lab import SHARED, cpu_line, load_line

from newsarchive.archive import Archive
from newsarchive.archive.search.fusion import (
    HYBRID_WEIGHTS,
    RRF_K,
    fuse_articles,
    reciprocal_rank_fusion,
    score_fusion,
)
from newsarchive.archive.search.owners import first_seen
from newsarchive.archive.search.request import SearchRequest
from newsarchive.archive.search.searcher import Ranking

archive = Archive(Path(sys.argv[1]))
s = archive.searcher()
print(cpu_line(), load_line(), flush=True)
qs = [
    json.loads(line)["query"]
    for line in (SHARED / "eval" / "bbc_headlines.jsonl").read_text().splitlines()
][100 : 100 + int(sys.argv[2])]
rows = {}


def t(name, f):
    a, b = time.perf_counter(), time.process_time()
    out = f()
    rows.setdefault(name, ([], []))
    rows[name][0].append((time.perf_counter() - a) * 1000)
    rows[name][1].append((time.process_time() - b) * 1000)
    return out


for i, q in enumerate(qs[:3] + qs):
    if i == 3:
        rows.clear()
    r = SearchRequest.make(q)
    f = r.filters()
    v = t("query embedding (onnx)", lambda: s.encode_query(q))
    sem = t("FAISS search, depth 500", lambda: s.vector_search(v, 500, None))
    kw = t("keyword: tantivy, depth 500", lambda: archive.keywords.search(q, None, 500))
    t("keyword: FTS5 (today), depth 500", lambda: archive.keyword(q, f, 500))
    leads = archive.lead_search
    t("lead keyword list: tantivy, depth 1000", lambda: leads.keyword(q, f))
    t("lead keyword list: FTS5 (before), depth 1000", lambda: archive.leads.keyword(q, f))
    article_of = s.catalog.article_ids(
        list(dict.fromkeys([p for p, _ in sem] + [p for p, _ in kw]))
    )
    articles = list(dict.fromkeys(article_of.values()))
    t("lead vectors of the candidate articles: memory", lambda: leads.lookup(v, articles))
    t(
        "lead vectors of the candidate articles: SQLite (before)",
        lambda: archive.leads.lookup(v, articles),
    )
    cosines, first = leads.lookup(v, articles)
    lead_kw = leads.keyword(q, f)
    t(
        "score fusion by article id (dicts in, numpy inside)",
        lambda: score_fusion(sem, kw, article_of, first, cosines, lead_kw, keyword_depth=500),
    )
    owners = t(
        "article codes of the candidates (passage map)",
        lambda: s.catalog.owners(first_seen(sem, kw)),
    )
    by_code = t("lead vectors by article code: memory", lambda: leads.for_owners(v, owners))
    fused = t(
        "score fusion on article codes (what search runs)",
        lambda: fuse_articles(sem, kw, owners, by_code[1], by_code[0], lead_kw, keyword_depth=500),
    )
    t(
        "grouping and collapse on article codes",
        lambda: s.by_article(r, Ranking(kw, fused=fused, owners=owners)),
    )
    t(
        "RRF fusion",
        lambda: reciprocal_rank_fusion(
            [[p for p, _ in sem], [p for p, _ in kw]], RRF_K, HYBRID_WEIGHTS
        ),
    )
    found = t(
        "candidates, default hybrid (encode, retrievals, leads, fusion, grouping, collapse)",
        lambda: s.candidates(r),
    )
    t(
        "candidates, previous hybrid (fusion=rrf)",
        lambda: s.candidates(SearchRequest.make(q, fusion="rrf")),
    )
    t(
        "honest total: matches.count (SQLite FTS5 over all matches)",
        lambda: s.matches.count(found.scope),
    )
    t(
        "page: hits with snippets (SQLite reads)",
        lambda: s.make_hits(found.ranked[:10], q, found.others),
    )
    t("whole search", lambda: s.search(r))
print(f"{len(qs)} BBC headlines, hybrid, no filter; {load_line()}\n")
print(
    "| stage | wall p50 ms | wall p95 ms | process CPU p50 ms | process CPU p95 ms |\n| --- | --- | --- | --- | --- |"
)
for k, (w, c) in rows.items():
    print(
        f"| {k} | {np.percentile(w, 50):.1f} | {np.percentile(w, 95):.1f} | {np.percentile(c, 50):.1f} | {np.percentile(c, 95):.1f} |"
    )
archive.close()
