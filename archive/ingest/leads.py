"""An article's lead: the opening sentence of its first passage, which news writing makes the
summary of the story.

Search scores it beside the passages (search/fusion.py's `score_fusion`): a query that is a
headline or a summary of the story tends to match the lead better than any whole passage.
The lead is at least `MIN_WORDS` words (sentences are added until it is: a dateline or a
two-word opener is not a summary) and at most `MAX_CHARS` characters (a run-on "sentence"
without punctuation is cut), so every article costs one short extra embedding.
"""

from __future__ import annotations

from .passages import split_sentences

MIN_WORDS = 8
MAX_CHARS = 600


def lead_sentence(passages: list[str]) -> str | None:
    """The lead of an article from its passage texts (the first one is read); None when the
    article has no text."""
    if not passages or not passages[0].strip():
        return None
    text = passages[0].strip()
    line: list[str] = []
    for sentence in split_sentences(text) or [text]:
        line.append(sentence)
        if len(" ".join(line).split()) >= MIN_WORDS:
            break
    lead = " ".join(line)
    if len(lead) > MAX_CHARS:
        cut = lead.rfind(" ", 0, MAX_CHARS)
        lead = lead[: cut if cut > MAX_CHARS // 2 else MAX_CHARS]
    return lead
