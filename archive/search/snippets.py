"""Snippets: the part of a passage that answers the query, with the matching terms marked.

Semantic hits often share no word with the query; for those the snippet is the passage's
opening, so the reader still sees why it is there. Terms are matched on a crude stem so
'talks' marks 'talk' and 'withdrawal' marks 'withdraw'.
"""

from __future__ import annotations

from ..ingest.passages import split_sentences
from .terms import STOPWORDS, WORD_RE, query_terms, stem


def highlight_spans(text: str, query: str) -> list[tuple[int, int]]:
    stems = {stem(t) for t in query_terms(query)}
    if not stems:
        return []
    return [
        (m.start(), m.end())
        for m in WORD_RE.finditer(text)
        if m.group().lower() not in STOPWORDS and stem(m.group()) in stems
    ]


def make_snippet(text: str, query: str, max_chars: int = 320) -> tuple[str, list[tuple[int, int]]]:
    """The densest window of whole sentences, and the highlight spans relative to it."""
    sentences = split_sentences(text) or [text]
    stems = {stem(t) for t in query_terms(query)}

    def hits(sentence: str) -> int:
        return len({stem(w) for w in WORD_RE.findall(sentence)} & stems)

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
