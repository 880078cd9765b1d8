"""Validate the title-on query sets and print their statistics.

    python bench/sets/check_sets.py                 # both sets
    python bench/sets/check_sets.py bench/sets/bbc_questions.jsonl

The sets (`bbc_questions.jsonl`, `reuters_questions.jsonl`) hold one query per article, written
by hand from the article (a question a journalist or researcher would ask, or the keywords they
would type), not its headline: archives built for them keep titles. Each line:
`{"qid", "query", "relevant_ids", "kind": "question"|"keywords", "title_overlap", "body_overlap"}`.

Checked here against ../shared/corpora (exits 0 with a message when it is absent):
- every relevant id exists; `relevant_ids` is the article plus every article of the corpus with
  the same body once case, punctuation and spacing are ignored (nothing more, nothing less);
- the query shares at most two content words with the headline (of any relevant article);
- `title_overlap` / `body_overlap` (share of the query's content words found in the title / the
  body) are what this script computes;
- no two queries for one article (or one group of copies), no repeated query, no repeated qid;
- the article has no near-copy outside its group (word 5-gram Jaccard >= 0.5), which would be a
  second right answer the labels do not name;
- no query repeats more than five consecutive words of the body.

Content words: lower-cased word and number tokens ("U.S." is "us"), English stop words and
question words removed, single characters dropped. Two words count as the same when their light
stems are equal (plural, -ed, -ing) or one is a prefix of the other of at least five letters, or
they share a six-letter prefix, so "approved" and "approvals", "Japan" and "Japanese" match: the
check errs on the side of counting more overlap, never less.
"""

from __future__ import annotations

import collections
import json
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SHARED = ROOT.parent / "shared"
HERE = Path(__file__).resolve().parent
SETS = {
    "bbc_questions.jsonl": "corpora/bbc.jsonl",
    "reuters_questions.jsonl": "corpora/reuters21578-6k.jsonl",
}
KINDS = {"question", "keywords"}
MAX_TITLE_WORDS = 2
MAX_COPIED_RUN = 5
NEAR_COPY = 0.5

STOP = set(
    """a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
    having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll
    i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor
    not of off on once only or other ought our ours ourselves out over own same shan't she she'd
    she'll she's should shouldn't so some such than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's with won't would wouldn't you you'd you'll
    you're you've your yours yourself yourselves also just whose whether will shall may might
    must get got s t""".split()
)

_DOTTED = re.compile(r"\b((?:[a-z]\.){2,})")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*[a-z]*|[a-z]+(?:['’][a-z]+)*")


def tokens(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    text = _DOTTED.sub(lambda m: m.group(1).replace(".", "") + " ", text)  # u.s. -> us
    out = []
    for tok in _TOKEN.findall(text):
        tok = re.sub(r"'s$", "", tok)
        if len(tok) > 1 and tok not in STOP:
            out.append(tok)
    return out


def stem(word: str) -> str:
    w = word
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]  # cutting -> cut
            break
    return w


def _prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    sa, sb = stem(a), stem(b)
    if sa == sb:
        return True
    if a[0].isdigit() or b[0].isdigit():
        return False
    p = _prefix(sa, sb)
    return p >= 6 or (p >= 5 and p == min(len(sa), len(sb)))


def content_words(text: str) -> list[str]:
    """The distinct content words of a text, in order."""
    return list(dict.fromkeys(tokens(text)))


def shared_words(query: str, text: str) -> list[str]:
    """The query's content words that `text` also has."""
    vocab = set(tokens(text))
    by_initial = collections.defaultdict(list)
    for v in vocab:
        by_initial[v[0]].append(v)
    return [
        w
        for w in content_words(query)
        if w in vocab or any(same_word(w, v) for v in by_initial[w[0]])
    ]


def overlap(query: str, text: str) -> float:
    words = content_words(query)
    return round(len(shared_words(query, text)) / len(words), 3) if words else 0.0


def norm_body(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


def longest_copied_run(query: str, body: str) -> int:
    """Longest run of consecutive query words (all words, lower-cased) found in the body."""
    q = re.findall(r"\w+", query.lower())
    b = " " + " ".join(re.findall(r"\w+", body.lower())) + " "
    best = 0
    for i in range(len(q)):
        for j in range(i + best + 1, len(q) + 1):
            if " " + " ".join(q[i:j]) + " " in b:
                best = j - i
            else:
                break
    return best


def _shingles(text: str, k: int = 5) -> set[str]:
    w = norm_body(text).split()
    return {" ".join(w[i : i + k]) for i in range(max(1, len(w) - k + 1))}


def near_copies(corpus: dict[str, dict], ids: list[str]) -> dict[str, list[str]]:
    """For each id: other articles (not exact copies) whose 5-gram Jaccard is >= NEAR_COPY."""
    sh = {i: _shingles(a["body"]) for i, a in corpus.items()}
    inv = collections.defaultdict(list)
    for i, s in sh.items():
        for g in s:
            inv[g].append(i)
    out = {}
    for i in ids:
        counts = collections.Counter()
        for g in sh[i]:
            if len(inv[g]) < 200:
                counts.update(inv[g])
        hits = []
        for j, c in counts.items():
            if j == i or norm_body(corpus[j]["body"]) == norm_body(corpus[i]["body"]):
                continue
            if c / (len(sh[i]) + len(sh[j]) - c) >= NEAR_COPY:
                hits.append(j)
        if hits:
            out[i] = hits
    return out


def _dist(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return f"mean {statistics.mean(values):.3f}, quartiles {q[0]:.2f}/{q[1]:.2f}/{q[2]:.2f}, max {max(values):.2f}"


def check(path: Path, corpus_path: Path) -> list[str]:
    corpus = {}
    with corpus_path.open() as fh:
        for line in fh:
            a = json.loads(line)
            corpus[a["id"]] = a
    groups = collections.defaultdict(list)
    for a in corpus.values():
        groups[norm_body(a["body"])].append(a["id"])
    rows = [json.loads(line) for line in path.open() if line.strip()]
    errors: list[str] = []
    seen_qid, seen_query, seen_group = set(), set(), {}
    title_counts, kinds, strata, copied, qlen = (collections.Counter() for _ in range(5))
    t_over, b_over = [], []
    for row in rows:
        qid = row.get("qid")
        missing = {"qid", "query", "relevant_ids", "kind", "title_overlap", "body_overlap"} - set(
            row
        )
        if missing:
            errors.append(f"{qid}: missing {sorted(missing)}")
            continue
        if qid in seen_qid:
            errors.append(f"{qid}: repeated qid")
        seen_qid.add(qid)
        query = row["query"].strip()
        if query.lower() in seen_query:
            errors.append(f"{qid}: repeated query {query!r}")
        seen_query.add(query.lower())
        if row["kind"] not in KINDS:
            errors.append(f"{qid}: kind {row['kind']!r}")
        if row["kind"] == "question" and not query.endswith("?"):
            errors.append(f"{qid}: a question without '?'")
        if row["kind"] == "keywords" and query.endswith("?"):
            errors.append(f"{qid}: keywords ending in '?'")
        ids = row["relevant_ids"]
        unknown = [i for i in ids if i not in corpus]
        if not ids or unknown:
            errors.append(f"{qid}: unknown relevant ids {unknown or ids}")
            continue
        art = corpus[ids[0]]
        group = sorted(groups[norm_body(art["body"])])
        if sorted(ids) != group:
            errors.append(f"{qid}: relevant_ids {sorted(ids)} != copies of {ids[0]} {group}")
        key = group[0]
        if key in seen_group:
            errors.append(f"{qid}: second query for {key} (first {seen_group[key]})")
        seen_group[key] = qid
        if "reuters" in corpus_path.name and (
            not art["title"].strip() or len(art["body"].split()) < 80
        ):
            errors.append(f"{qid}: {ids[0]} has no title or a body under 80 words")
        in_title = max((shared_words(query, corpus[i]["title"]) for i in ids), key=len)
        if len(in_title) > MAX_TITLE_WORDS:
            errors.append(f"{qid}: shares {in_title} with the headline {art['title']!r}")
        title_counts[len(in_title)] += 1
        t, b = overlap(query, art["title"]), overlap(query, art["body"])
        if abs(t - row["title_overlap"]) > 0.01 or abs(b - row["body_overlap"]) > 0.01:
            errors.append(
                f"{qid}: overlaps {row['title_overlap']}/{row['body_overlap']} stored, {t}/{b} computed"
            )
        t_over.append(t)
        b_over.append(b)
        run = longest_copied_run(query, art["body"])
        copied[run] += 1
        if run > MAX_COPIED_RUN:
            errors.append(f"{qid}: repeats {run} consecutive words of the body")
        kinds[row["kind"]] += 1
        strata[art.get("category") or ((art.get("topics") or ["(none)"])[0])] += 1
        qlen[len(content_words(query))] += 1
    near = near_copies(
        corpus, [r["relevant_ids"][0] for r in rows if r.get("relevant_ids", [None])[0] in corpus]
    )
    for i, others in near.items():
        errors.append(f"{i}: near-copies outside its group {others[:3]}")

    n = len(rows)
    print(f"== {path.name}: {n} queries on {corpus_path.name}")
    print("kind: " + ", ".join(f"{k} {v} ({v / n:.0%})" for k, v in sorted(kinds.items())))
    print(
        "content words shared with the headline: "
        + ", ".join(f"{k}: {v} ({v / n:.0%})" for k, v in sorted(title_counts.items()))
    )
    print(f"title_overlap (share of the query's content words in the title): {_dist(t_over)}")
    print(f"body_overlap (share of the query's content words in the body): {_dist(b_over)}")
    buckets = collections.Counter(min(int(b * 5), 4) for b in b_over)
    print(
        "body_overlap histogram: "
        + ", ".join(
            f"[{k / 5:.1f},{(k + 1) / 5:.1f}{']' if k == 4 else ')'}: {buckets[k]}"
            for k in range(5)
        )
    )
    print("query content words: " + _dist([float(k) for k in qlen.elements()]))
    print(
        "longest run of body words repeated: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(copied.items()))
    )
    multi = sum(1 for r in rows if len(r.get("relevant_ids", [])) > 1)
    print(f"queries with copies among relevant_ids: {multi}")
    print(f"strata ({len(strata)}): " + ", ".join(f"{k} {v}" for k, v in strata.most_common()))
    return errors


def main(argv: list[str]) -> int:
    if not SHARED.exists():
        print(f"{SHARED} is absent: nothing to check the query sets against (skipped).")
        return 0
    paths = [Path(p) for p in argv] or [HERE / name for name in SETS]
    failed = 0
    for path in paths:
        if not path.exists():
            print(f"{path}: missing")
            failed += 1
            continue
        errors = check(path, SHARED / SETS[path.name])
        for e in errors:
            print("ERROR " + e)
        print(f"{path.name}: {'OK' if not errors else f'{len(errors)} errors'}\n")
        failed += bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
