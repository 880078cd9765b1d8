"""An article's heading (what is indexed beside every passage) and the hashes that make
incremental ingest exact once titles are indexed."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from newsarchive.archive.ingest.embed import blend, encode_inputs, input_hash, text_hash
from newsarchive.archive.records import MAX_HEADING_CHARS, Article


def test_heading_is_the_title_and_a_standfirst_the_body_does_not_hold():
    assert Article("Title", ["Body."]).heading() == "Title"
    described = Article("Title", ["Body."], metadata={"description": "Standfirst"})
    assert described.heading() == "Title \u2014 Standfirst"
    shown = Article("Title", ["Standfirst", "Body."], metadata={"description": "Standfirst"})
    assert shown.heading() == "Title"
    assert Article("Headline", ["Headline"], metadata={"headline_only": True}).heading() == ""
    assert Article("", ["Body."]).heading() == ""
    assert Article("T", ["B"], metadata={"description": ["not", "text"]}).heading() == "T"


def test_a_long_heading_is_cut_at_a_word():
    heading = Article("word " * 1000, ["Body."]).heading()
    assert len(heading) <= MAX_HEADING_CHARS and heading.endswith("word")


def test_text_hash_is_unchanged_for_articles_without_a_standfirst():
    """Archives stored before titles must not see every article as changed."""
    article = Article("Title", ["One.", "Two."])
    before = hashlib.sha256(json.dumps(["Title", ["One.", "Two."]]).encode()).hexdigest()
    assert article.text_hash() == before
    described = Article("Title", ["One.", "Two."], metadata={"description": "New standfirst"})
    assert described.text_hash() != before


def test_the_reuse_key_names_the_heading_only_when_it_is_blended():
    assert input_hash("text", "", 0.2) == text_hash("text")
    assert input_hash("text", "Title", 0.0) == text_hash("text")
    assert input_hash("text", "Title", 0.2) not in (text_hash("text"), input_hash("text", "T", 0.2))
    assert input_hash("text", "Title", 0.2) != input_hash("text", "Title", 0.3)


def test_blend_leans_towards_the_heading_and_stays_unit_length():
    text, heading = np.eye(2, dtype=np.float32)
    [mixed] = blend(text[None], heading[None], 0.2)
    assert np.isclose(np.linalg.norm(mixed), 1.0)
    assert mixed[0] > mixed[1] > 0
    calls = []

    def encode(texts):
        calls.append(list(texts))
        return np.array([[1.0, 0.0] if t.startswith("p") else [0.0, 1.0] for t in texts])

    vectors = encode_inputs(encode, ["p1", "p2"], ["H", ""], 0.2)
    assert calls == [["p1", "p2"], ["H"]]  # each distinct heading encoded once
    np.testing.assert_allclose(vectors[1], [1.0, 0.0])  # no heading: the text's own vector
