"""Plain-text articles, in the shape of the shipped seed: a title line, an optional `By ...`
byline, then paragraphs."""

from __future__ import annotations

import re

from ..errors import InputError
from ..records import Article
from .cleaning import clean_paragraphs, normalise_whitespace

_BYLINE_RE = re.compile(r"^\s*by\s+(?P<name>.{2,120})$", re.IGNORECASE)


def split_paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; a text with none has one paragraph per line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if re.search(r"\n\s*\n", text):
        blocks = re.split(r"\n\s*\n", text)
        return [" ".join(line.strip() for line in block.splitlines()) for block in blocks]
    return text.split("\n")


def parse_plain_text(text: str, origin: str, article_id: str | None = None) -> Article:
    """Title line, optional `By ...` byline, then paragraphs.

    A text file has no id field; the reader passes the file name, so editing the file
    replaces the stored article instead of adding a second one.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\n").split("\n")
    title = normalise_whitespace(lines[0]) if lines else ""
    rest = lines[1:]
    author = None
    # The byline may follow the title directly or after a blank line.
    for i, line in enumerate(rest[:3]):
        if not line.strip():
            continue
        match = _BYLINE_RE.match(line.strip())
        if match:
            author = normalise_whitespace(match.group("name"))
            rest = rest[i + 1 :]
        break
    paragraphs = clean_paragraphs(split_paragraphs("\n".join(rest)))
    if not title:
        raise InputError(f"{origin}: empty file")
    metadata = {}
    if not paragraphs:
        paragraphs = [title]  # a headline alone is still a story: searchable, not dropped
        metadata["headline_only"] = True
    return Article(
        id=article_id,
        title=title,
        paragraphs=paragraphs,
        author=author,
        metadata=metadata,
        origin=origin,
    )
