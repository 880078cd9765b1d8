"""Reading articles: the seed's plain-text shape, JSON/JSONL, and bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from newsarchive.archive import Article, InputError
from newsarchive.archive.sources import read_inputs
from newsarchive.archive.sources.cleaning import clean_paragraphs

from conftest import SEED


def read_all(*paths: str) -> tuple[list[Article], list[str]]:
    articles, errors = [], []
    for item in read_inputs(list(paths)):
        (errors if isinstance(item, InputError) else articles).append(
            str(item) if isinstance(item, InputError) else item
        )
    return articles, errors


def test_seed_title_byline_and_no_blog_boilerplate():
    [article], errors = read_all(str(SEED))
    assert errors == []
    assert article.title.startswith("US, Iraq to Kick Off Talks")
    assert article.author == "Al Mayadeen English"
    assert article.id == "000_4270a9efd2e10240"
    assert article.paragraphs[0].startswith("The United States and Iraq have started talks")
    assert article.paragraphs[-1].startswith("Additionally, al-Sudani explained")
    text = article.body
    assert "No comments" not in text and "Post a Comment" not in text


def test_boilerplate_and_junk_paragraphs_are_dropped():
    paragraphs = [
        "Real text here.",
        "* * *",
        "  ",
        "Share this",
        "More real text.",
        "Post a Comment",
    ]
    assert clean_paragraphs(paragraphs) == ["Real text here.", "More real text."]


def test_blank_line_paragraphs_and_byline_after_blank(tmp_path: Path):
    path = tmp_path / "story.txt"
    path.write_text("Headline here\n\nBy Jane Roe\n\nFirst para line one\ncontinues.\n\nSecond.\n")
    [article], _ = read_all(str(path))
    assert article.author == "Jane Roe"
    assert article.paragraphs == ["First para line one continues.", "Second."]


def test_jsonl_fields_metadata_and_bad_lines(tmp_path: Path):
    path = tmp_path / "a.jsonl"
    path.write_text(
        json.dumps({"id": 7, "title": "T", "paragraphs": ["One.", "Two."], "topics": ["x"]})
        + "\n{not json\n"
        + json.dumps({"id": "headline", "title": "Nothing more", "body": ""})
        + "\n"
        + json.dumps({"id": "empty", "title": " ", "body": ""})
        + "\n"
    )
    articles, errors = read_all(str(path))
    assert [a.id for a in articles] == ["7", "headline"]
    assert articles[0].metadata == {"topics": ["x"]}
    # a headline alone is kept, its headline as its text
    assert articles[1].paragraphs == ["Nothing more"]
    assert articles[1].metadata == {"headline_only": True}
    assert len(errors) == 2
    assert errors[0].startswith(f"{path}:2: malformed JSON")
    assert errors[1] == f"{path}:4: article 'empty' has neither a title nor body text"


def test_json_array_and_gzipped_jsonl(tmp_path: Path):
    array = tmp_path / "list.json"
    array.write_text(json.dumps([{"id": "a", "body": "Alpha text."}, {"id": "b", "body": "Beta."}]))
    packed = tmp_path / "more.jsonl.gz"
    with gzip.open(packed, "wt") as fh:
        fh.write(json.dumps({"id": "c", "body": "Gamma text."}) + "\n")
    articles, errors = read_all(str(array), str(packed))
    assert errors == []
    assert [a.id for a in articles] == ["a", "b", "c"]


def test_missing_binary_and_empty_inputs_are_reported_and_others_still_read(tmp_path: Path):
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    headline = tmp_path / "headline.txt"
    headline.write_text("Just a title\n")
    paths = [tmp_path / "nope.txt", binary, empty, headline, SEED]
    articles, errors = read_all(*map(str, paths))
    assert len(articles) == 2
    assert (articles[0].paragraphs, articles[0].metadata) == (
        ["Just a title"],
        {"headline_only": True},
    )
    assert errors == [
        f"{tmp_path / 'nope.txt'}: no such file or folder",
        f"{binary}: looks like a binary file, not text",
        f"{empty}: empty file",
    ]


def test_folders_are_walked_recursively(tmp_path: Path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one.txt").write_text("One\nBody of one.\n")
    (tmp_path / "a" / "b" / "two.txt").write_text("Two\nBody of two.\n")
    (tmp_path / "a" / ".hidden.txt").write_text("Hidden\nNo.\n")
    (tmp_path / "a" / "notes.bin").write_bytes(b"\x00\x01")
    articles, errors = read_all(str(tmp_path / "a"))
    assert sorted(a.title for a in articles) == ["One", "Two"]
    assert errors == []
