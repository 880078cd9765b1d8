"""A query's words as the keyword side and the snippets see them: stop words dropped, and a
crude stem so 'talks' marks 'talk' and 'withdrawal' marks 'withdraw'."""

from __future__ import annotations

import functools
import re

STOPWORDS = frozenset(
    """a an and are as at be but by for from has have he her his i in is it its of on or our
    she that the their them they this to was we were what when where which who will with you
    about after all also been can could did do does had into more most no not only other out
    over said says than then there these those up very would how why""".split()
)
WORD_RE = re.compile(r"\w+", re.UNICODE)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ally", "als", "al", "ies", "es", "ed", "ly", "s")


@functools.lru_cache(maxsize=65_536)  # called for every word of every snippet: ~3 ms a query
def stem(word: str) -> str:
    word = word.lower()
    for suffix in _SUFFIXES:
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def query_terms(query: str) -> list[str]:
    """Content words of a query, lower-cased, in order, without duplicates."""
    seen: dict[str, None] = {}
    for word in WORD_RE.findall(query.lower()):
        if word not in STOPWORDS and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)
