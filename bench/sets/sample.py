"""Draw the articles the title-on query sets were written for (seed 12) and print their ids.

    python bench/sets/sample.py            # prints "set stratum id" lines, one per drawn article

BBC: 200 articles over the five categories; Reuters: 200 articles with a title and a body of at
least 80 words (mostly prose: >= 70% of its tokens words), over their first topic ("(none)"
for articles without one). Each stratum gets a share proportional to the square root of its
size (at least one), so small topics are represented. Articles with a near-copy in the corpus
(word 5-gram Jaccard >= 0.5 with an article that is not an exact copy once case, punctuation
and spacing are ignored) are skipped, and at most one article per group of exact copies is
drawn. Reads ../shared/; exits with a message when it is absent.
"""

import collections
import json
import math
import random
import re
import sys
from pathlib import Path

SEED = 12
SHARED = Path(__file__).resolve().parent.parent.parent.parent / "shared" / "corpora"


def norm(t):
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", t.lower())).strip()


def shingles(t, k=5):
    w = norm(t).split()
    return {" ".join(w[i : i + k]) for i in range(max(1, len(w) - k + 1))}


def near_dups(arts, thr=0.5):
    """ids with another article (not an exact copy once normalised) of 5-gram Jaccard >= thr."""
    sh = {a["id"]: shingles(a["body"]) for a in arts}
    nb = {a["id"]: norm(a["body"]) for a in arts}
    inv = collections.defaultdict(list)
    for i, s in sh.items():
        for g in s:
            inv[g].append(i)
    out = {}
    for i, s in sh.items():
        cnt = collections.Counter()
        for g in s:
            if len(inv[g]) < 200:
                cnt.update(inv[g])
        for j, c in cnt.items():
            if j == i or nb[j] == nb[i]:
                continue
            jac = c / (len(s) + len(sh[j]) - c)
            if jac >= thr:
                out.setdefault(i, []).append((j, round(jac, 2)))
    return out


def prose_ratio(body):
    toks = body.split()
    return sum(bool(re.fullmatch(r"[A-Za-z][A-Za-z'’.,;:()-]*", t)) for t in toks) / max(
        1, len(toks)
    )


def load(name):
    with open(SHARED / name) as fh:
        return [json.loads(line) for line in fh]


def alloc(counts, total):
    """share of `total` per stratum, proportional to sqrt(size), at least 1 where possible."""
    w = {k: math.sqrt(v) for k, v in counts.items()}
    s = sum(w.values())
    a = {k: max(1, round(total * w[k] / s)) for k in counts}
    a = {k: min(a[k], counts[k]) for k in a}
    # fix the sum: trim/add on the largest strata
    order = sorted(counts, key=lambda k: -counts[k])
    i = 0
    while sum(a.values()) != total:
        k = order[i % len(order)]
        if sum(a.values()) > total and a[k] > 1:
            a[k] -= 1
        elif sum(a.values()) < total and a[k] < counts[k]:
            a[k] += 1
        i += 1
    return a


def draw(arts, stratum, total):
    """(stratum, id, "main") per drawn article, in stratum order, plus what was skipped."""
    rng = random.Random(SEED)
    nd = near_dups(arts)
    eligible = [a for a in arts if a["id"] not in nd]
    by = collections.defaultdict(list)
    for a in eligible:
        by[stratum(a)].append(a)
    counts = {k: len(v) for k, v in by.items()}
    quota = alloc(counts, total)
    picked = []
    for k in sorted(by):
        pool = sorted(by[k], key=lambda a: a["id"])
        rng.shuffle(pool)
        seen = set()
        for a in pool:
            g = norm(a["body"])
            if g in seen:
                continue  # one article per group of exact copies
            seen.add(g)
            if len(seen) > quota[k]:
                break
            picked.append((k, a["id"], "main"))
    return picked, nd, quota, len(arts), len(eligible)


def main() -> int:
    if not SHARED.exists():
        print(f"{SHARED} is absent: nothing to sample (skipped).")
        return 0
    bbc = load("bbc.jsonl")
    picked, nd, quota, n, e = draw(bbc, lambda a: a["category"], 200)
    print(
        f"# bbc: {n} articles, {len(nd)} with a near-copy skipped, quota {quota}", file=sys.stderr
    )
    for k, i, _ in picked:
        print("bbc", k, i)
    reu = [
        a
        for a in load("reuters21578-6k.jsonl")
        if a["title"].strip() and len(a["body"].split()) >= 80 and prose_ratio(a["body"]) >= 0.7
    ]
    picked, nd, quota, n, e = draw(reu, lambda a: a["topics"][0] if a["topics"] else "(none)", 200)
    print(f"# reuters: {n} eligible articles, {len(nd)} with a near-copy skipped", file=sys.stderr)
    for k, i, _ in picked:
        print("reuters", k, i)
    return 0


if __name__ == "__main__":
    sys.exit(main())
