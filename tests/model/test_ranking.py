"""Ranking with the real model: the obvious article first in every mode, a paraphrase found
without shared words, the seed article for its own question."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsarchive.archive import Archive

from conftest import NEWS, SEED, SEED_ID, write_jsonl


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, model) -> Iterator[Archive]:
    """One archive for the module: these tests only read it."""
    folder = tmp_path_factory.mktemp("ranking")
    with Archive(folder / "data", embedder=model) as archive:
        archive.ingest([SEED, write_jsonl(folder / "news.jsonl", NEWS)])
        yield archive


def test_seed_query_finds_the_seed_passage(loaded: Archive):
    response = loaded.search("talks on the withdrawal of US forces from Iraq", limit=3)
    top = response.hits[0]
    assert top.article.id == SEED_ID
    assert top.article.title.startswith("US, Iraq to Kick Off Talks")
    assert "withdrawal" in top.text.lower() or "talks" in top.text.lower()


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
def test_each_mode_ranks_the_obvious_article_first(loaded: Archive, mode: str):
    assert loaded.search("OPEC crude production", mode=mode).hits[0].article.id == "oil-1"


def test_semantic_finds_paraphrase_without_shared_words(loaded: Archive):
    hits = loaded.search("soccer match result", mode="semantic").hits
    assert hits[0].article.id == "football-1"
    assert loaded.search("soccer match result", mode="keyword").hits == []
