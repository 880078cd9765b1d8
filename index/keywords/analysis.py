"""Terms exactly as SQLite FTS5's `porter unicode61 remove_diacritics 2` tokenizer makes them.

The keyword index outside SQLite (tantivy, see index.py) must cut text into the terms FTS5
does, so that a query means the same thing whichever engine answers it, and small archives (on
FTS5) and large ones (on tantivy) stem, fold case and strip diacritics alike. Rather than
re-implement the tokenizer (SQLite's Porter stemmer follows Porter's C release, with its
"logi" -> "log" and "bli" -> "ble" departures, which PyStemmer's "porter" and Snowball's
"english" do not), text is split into candidate tokens with a regular expression (runs of
letters and digits: unicode61's separators) and each distinct token is resolved once by SQLite
itself, through an in-memory FTS5 table and its fts5vocab view, then cached.

Stop words are indexed (FTS5 indexes every token, and they count in a passage's length); the
query side drops them, as archive/store/fts.py's `fts_terms` does.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

TOKENIZE = "porter unicode61 remove_diacritics 2"  # archive/store/schema.py's FTS5 tokenizer
_TOKEN_RE = re.compile(r"[^\W_]+")
_WORD_RE = re.compile(r"\w+")
_PHRASE_RE = re.compile(r'"([^"]+)"')
CACHE_LIMIT = 2_000_000  # distinct raw tokens remembered
_CHUNK = 100_000  # tokens resolved per SQLite round

# The query-side stop words of archive/search/terms.py (index/ cannot import archive/; a test
# keeps the two equal).
STOPWORDS = frozenset(
    """a an and are as at be but by for from has have he her his i in is it its of on or our
    she that the their them they this to was we were what when where which who will with you
    about after all also been can could did do does had into more most no not only other out
    over said says than then there these those up very would how why""".split()
)


class Analyzer:
    """raw token -> FTS5 terms, resolved by SQLite's own tokenizer and cached (thread-safe)."""

    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        self._conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{TOKENIZE}')")
        self._conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, ...]] = {}

    def resolve(self, raw_tokens: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """A mapping that holds every one of `raw_tokens` (unknown ones resolved in SQLite).

        The cache is replaced, never cleared in place, when it grows past CACHE_LIMIT, so a
        mapping handed out stays valid for the caller that holds it.
        """
        cache = self._cache
        unknown = {t for t in raw_tokens if t not in cache}
        if not unknown:
            return cache
        with self._lock:
            cache = self._cache
            unknown = [t for t in unknown if t not in cache]
            if len(cache) + len(unknown) > CACHE_LIMIT:
                cache = {}
            for start in range(0, len(unknown), _CHUNK):
                chunk = unknown[start : start + _CHUNK]
                self._conn.execute("DELETE FROM t")
                self._conn.executemany(
                    "INSERT INTO t(rowid, x) VALUES (?, ?)", list(enumerate(chunk))
                )
                found: dict[int, list[str]] = {}
                for term, doc in self._conn.execute("SELECT term, doc FROM v ORDER BY doc, offset"):
                    found.setdefault(doc, []).append(term)
                for i, token in enumerate(chunk):
                    cache[token] = tuple(found.get(i, ()))
            self._cache = cache
            return cache

    def analyze(self, text: str) -> list[str]:
        """Every term of `text`, in order (stop words included), as FTS5 indexes it."""
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: list[str]) -> list[list[str]]:
        raws = [_TOKEN_RE.findall(text) for text in texts]
        cache = self.resolve(t for raw in raws for t in raw)
        out = []
        for raw in raws:
            terms: list[str] = []
            for token in raw:
                terms.extend(cache[token])
            out.append(terms)
        return out


_DEFAULT: Analyzer | None = None
_DEFAULT_LOCK = threading.Lock()


def default_analyzer() -> Analyzer:
    """One analyzer per process (its cache is shared by every index)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Analyzer()
        return _DEFAULT


@dataclass
class KeywordQuery:
    """A parsed keyword query: OR-ed items, each a term (one token) or a phrase (several).

    Items keep their multiplicity: "talks talk" is two items with the same term, and FTS5
    scores such a query as the sum of both, so the index does too.
    """

    items: list[tuple[str, ...]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.items)


def parse_query(query: str, analyzer: Analyzer | None = None) -> KeywordQuery:
    """A user's words -> the items FTS5 matches for `fts_terms(query)` (archive/store/fts.py).

    Quoted phrases stay phrases; every other word is its own item unless it is a stop word
    (all words are kept when nothing else remains). A word that the tokenizer cuts in two
    ("foo_bar") is a phrase of its parts, as FTS5 reads a quoted string.
    """
    analyzer = analyzer or default_analyzer()
    phrases = [p.strip() for p in _PHRASE_RE.findall(query) if p.strip()]
    rest = re.sub(r'"[^"]*"', " ", query)
    words = [w for w in _WORD_RE.findall(rest.lower()) if w not in STOPWORDS]
    if not words and not phrases:
        words = _WORD_RE.findall(rest.lower())
    texts = [" ".join(_WORD_RE.findall(p)) for p in phrases] + list(dict.fromkeys(words))
    return KeywordQuery([tuple(terms) for terms in analyzer.analyze_many(texts) if terms])
