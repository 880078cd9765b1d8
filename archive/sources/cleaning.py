"""Decide which paragraphs are article text and which are page furniture.

Blog and news pages end with comment forms, share buttons and subscription pitches; embedding
them would make every article match "post a comment". We cut a trailing block of such lines and
drop paragraphs that carry no words.
"""

from __future__ import annotations

import re
import unicodedata

# Lines that only ever appear as page furniture. Matched against the whole (trimmed) line.
_BOILERPLATE = [
    r"no comments?:?",
    r"\d+ comments?:?",
    r"post a comment",
    r"leave a (comment|reply)",
    r"newer post\s*older post\s*home",
    r"(newer|older) posts?",
    r"home",
    r"subscribe to:? post comments \(atom\)",
    r"subscribe( to our newsletter)?",
    r"share( this( article| story)?)?:?",
    r"(share|tweet|email|print)( on \w+)?",
    r"(follow us|like us) on .{0,40}",
    r"click here to .{0,80}",
    r"posted by .{0,80}",
    r"labels?:.{0,200}",
    r"(related|read more|see also)( articles| stories)?:?",
    r"advertisement",
    r"(all rights reserved|copyright|©).{0,120}",
]
_BOILERPLATE_RE = re.compile(r"^(?:" + "|".join(_BOILERPLATE) + r")\.?$", re.IGNORECASE)
_WORD_RE = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def normalise_whitespace(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\u00a0", " ")
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()


def is_boilerplate(paragraph: str) -> bool:
    return bool(_BOILERPLATE_RE.match(paragraph.strip()))


def is_junk(paragraph: str) -> bool:
    """No real words: rules, separators, lone numbers, image credits made of symbols."""
    return not _WORD_RE.search(paragraph)


def clean_paragraphs(paragraphs: list[str]) -> list[str]:
    """Normalise, cut the trailing furniture block, and drop empty or wordless paragraphs."""
    cleaned = [normalise_whitespace(p) for p in paragraphs]
    cleaned = [p for p in cleaned if p]
    # Furniture sits at the end of the page: trim from the bottom while lines look like it.
    while cleaned and (is_boilerplate(cleaned[-1]) or is_junk(cleaned[-1])):
        cleaned.pop()
    return [p for p in cleaned if not is_junk(p) and not is_boilerplate(p)]
