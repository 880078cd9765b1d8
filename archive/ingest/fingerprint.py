"""What makes two articles the same story: an exact-text key and a MinHash signature.

Computed from an article's content alone, before its write transaction; the store keeps them
(store/dedup.py) so later ingests find earlier copies.

* exact copies: the same normalised body text (case, accents' composition, punctuation and
  spacing ignored). A body under 25 words is keyed together with its title, so two stubs never
  merge.
* near copies: a MinHash signature over 5-word shingles estimates Jaccard similarity; LSH band
  keys find candidates without comparing against every stored article.

The MinHash is a few lines of numpy rather than a dependency: 120 permutations of 31-bit hashes,
20 bands of 6 rows (candidates from a Jaccard of about 0.6, verified at 0.8).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SHINGLE_WORDS = 5
NUM_PERM = 120
BANDS = 20
ROWS = NUM_PERM // BANDS
THRESHOLD = 0.8  # estimated Jaccard similarity from which two articles are near copies
MIN_BODY_WORDS = 25
MIN_SHINGLES = 8  # too few shingles for a meaningful similarity: exact matches only
_PRIME = (1 << 31) - 1
_rng = np.random.RandomState(20240521)  # fixed: signatures must be comparable across runs
_A = _rng.randint(1, _PRIME, size=NUM_PERM).astype(np.uint64)
_B = _rng.randint(0, _PRIME, size=NUM_PERM).astype(np.uint64)
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def words_of(text: str) -> list[str]:
    """Case, accents' composition, punctuation and spacing do not make two texts different."""
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).lower())


def text_key(title: str, paragraphs: Sequence[str]) -> str:
    """Exact-copy key: the normalised body (outlets rewrite headlines, not wire text)."""
    body = words_of(" ".join(paragraphs))
    if len(body) < MIN_BODY_WORDS:
        body = words_of(title) + ["\x00"] + body
    return hashlib.sha256(" ".join(body).encode("utf-8")).hexdigest()


def minhash(words: Sequence[str]) -> np.ndarray | None:
    """MinHash signature of the word shingles, or None when the text is too short to compare."""
    k = SHINGLE_WORDS
    shingles = {" ".join(words[i : i + k]) for i in range(max(len(words) - k + 1, 0))}
    if len(shingles) < MIN_SHINGLES:
        return None
    hashes = np.fromiter(
        (zlib.crc32(s.encode("utf-8")) for s in shingles), dtype=np.uint64, count=len(shingles)
    )
    permuted = (hashes[:, None] * _A[None, :] + _B[None, :]) % _PRIME
    return permuted.min(axis=0).astype(np.uint32)


def band_keys(signature: np.ndarray) -> list[int]:
    """One 63-bit key per band; two articles sharing any key are near-copy candidates."""
    keys = []
    for band in range(BANDS):
        chunk = signature[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big") >> 1)
    return keys


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


@dataclass
class Fingerprint:
    """What finding an article's copies needs, computed before the write transaction."""

    key: str
    signature: np.ndarray | None

    @classmethod
    def of(cls, title: str, paragraphs: Sequence[str]) -> Fingerprint:
        return cls(text_key(title, paragraphs), minhash(words_of(" ".join(paragraphs))))
