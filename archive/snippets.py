"""Snippets: the part of a passage that answers the query, with the matching terms marked.

Semantic hits often share no word with the query; for those the snippet is the passage's
opening, so the reader still sees why it is there. Terms are matched on a crude stem so
'talks' marks 'talk' and 'withdrawal' marks 'withdraw'.
"""

from __future__ import annotations

import re

from .passages import split_sentences

STOPWORDS = frozenset(
    """a an and are as at be but by for from has have he her his i in is it its of on or our
    she that the their them they this to was we were what when where which who will with you
    about after all also been can could did do does had into more most no not only other out
    over said says than then there these those up very would how why""".split()
)
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ally", "als", "al", "ies", "es", "ed", "ly", "s")


def stem(word: str) -> str:
    word = word.lower()
    for suffix in _SUFFIXES:
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def query_terms(query: str) -> list[str]:
    """Content words of a query, lower-cased, in order, without duplicates."""
    seen: dict[str, None] = {}
    for word in _WORD_RE.findall(query.lower()):
        if word not in STOPWORDS and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)


def highlight_spans(text: str, query: str) -> list[tuple[int, int]]:
    stems = {stem(t) for t in query_terms(query)}
    if not stems:
        return []
    return [
        (m.start(), m.end())
        for m in _WORD_RE.finditer(text)
        if m.group().lower() not in STOPWORDS and stem(m.group()) in stems
    ]


def make_snippet(text: str, query: str, max_chars: int = 320) -> tuple[str, list[tuple[int, int]]]:
    """The densest window of whole sentences, and the highlight spans relative to it."""
    sentences = split_sentences(text) or [text]
    stems = {stem(t) for t in query_terms(query)}

    def hits(sentence: str) -> int:
        return len({stem(w) for w in _WORD_RE.findall(sentence)} & stems)

    best_start, best_score = 0, -1
    for i in range(len(sentences)):
        window, score, j = "", 0, i
        while j < len(sentences) and len(window) + len(sentences[j]) <= max_chars:
            window += (" " if window else "") + sentences[j]
            score += hits(sentences[j])
            j += 1
        if score > best_score:
            best_start, best_score = i, score
    snippet = ""
    for sentence in sentences[best_start:]:
        if snippet and len(snippet) + len(sentence) + 1 > max_chars:
            break
        snippet += (" " if snippet else "") + sentence
    if len(snippet) > max_chars:
        snippet = snippet[:max_chars].rsplit(" ", 1)[0] + " …"
    prefix = "… " if best_start > 0 else ""
    snippet = prefix + snippet
    if best_start + len(split_sentences(snippet)) < len(sentences) and not snippet.endswith("…"):
        snippet += " …"
    return snippet, highlight_spans(snippet, query)
