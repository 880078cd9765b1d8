"""Turn an article's paragraphs into passages the embedding model sees whole.

Paragraphs are the natural unit of news text, but a one-line subheading carries too little
meaning to embed on its own, and a long paragraph would be silently cut at the model's token
window. So short paragraphs are merged into their neighbour and long ones are split at sentence
boundaries, always measured with the model's own tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

TokenCounter = Callable[[list[str]], list[int]]

_SENTENCE_RE = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class PassagePolicy:
    max_tokens: int = 254  # all-MiniLM-L6-v2 sees 256 tokens including [CLS] and [SEP]
    min_tokens: int = 24  # shorter paragraphs (subheadings, datelines) join a neighbour
    # Consecutive paragraphs are packed together up to this size: one-sentence wire
    # paragraphs carry little context alone (measured in bench/README.md). None keeps
    # paragraphs apart once they reach min_tokens.
    target_tokens: int | None = 128


def approximate_token_counts(texts: list[str]) -> list[int]:
    """Fallback when no tokenizer is at hand: WordPiece averages ~1.3 tokens per word."""
    return [int(len(t.split()) * 1.3) + 1 for t in texts]


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_RE.split(text) if s.strip()]


def _split_long(text: str, count: TokenCounter, limit: int) -> list[str]:
    """Greedy packing of sentences (and, for a run-on sentence, of words) under the limit."""
    pieces: list[str] = []
    for sentence in split_sentences(text):
        if count([sentence])[0] <= limit:
            pieces.append(sentence)
            continue
        words = sentence.split()
        start = 0
        while start < len(words):
            # Binary search for the longest word run that fits.
            lo, hi = start + 1, len(words)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if count([" ".join(words[start:mid])])[0] <= limit:
                    lo = mid
                else:
                    hi = mid - 1
            pieces.append(" ".join(words[start:lo]))
            start = lo
    packed: list[str] = []
    sizes = count(pieces) if pieces else []
    current: list[str] = []
    current_size = 0
    for piece, size in zip(pieces, sizes):
        if current and current_size + size > limit:
            packed.append(" ".join(current))
            current, current_size = [], 0
        current.append(piece)
        current_size += size
    if current:
        packed.append(" ".join(current))
    return packed


def make_passages(
    paragraphs: list[str],
    count: TokenCounter = approximate_token_counts,
    policy: PassagePolicy = PassagePolicy(),
) -> list[str]:
    """Paragraphs -> passages, none longer than `policy.max_tokens` by `count`."""
    if not paragraphs:
        return []
    units: list[str] = []
    for paragraph, size in zip(paragraphs, count(paragraphs)):
        if size > policy.max_tokens:
            units.extend(_split_long(paragraph, count, policy.max_tokens))
        else:
            units.append(paragraph)
    sizes = count(units)
    passages: list[str] = []
    passage_sizes: list[int] = []
    pending: list[str] = []  # short units waiting to be joined with what follows
    pending_size = 0
    target = policy.target_tokens
    for unit, size in zip(units, sizes):
        joined = pending_size + size + 1
        full = target is not None and pending_size >= policy.min_tokens and joined > target
        if pending and (joined > policy.max_tokens or full):
            passages.append(" ".join(pending))
            passage_sizes.append(pending_size)
            pending, pending_size = [], 0
        pending.append(unit)
        pending_size += size + (1 if len(pending) > 1 else 0)
        if target is None and pending_size >= policy.min_tokens:
            passages.append(" ".join(pending))
            passage_sizes.append(pending_size)
            pending, pending_size = [], 0
    if pending:
        # A short tail (a closing line) joins the passage before it when it fits.
        short = pending_size < policy.min_tokens
        if short and passages and passage_sizes[-1] + pending_size + 1 <= policy.max_tokens:
            passages[-1] = passages[-1] + " " + " ".join(pending)
        else:
            passages.append(" ".join(pending))
    return passages
