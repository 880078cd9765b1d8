"""Shared fixtures.

Most tests run on the deterministic `HashEmbedder` (no model, milliseconds); the real model is
loaded once per session, only by the tests in tests/model/ and those that ask for `model`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsarchive.archive import Archive
from newsarchive.archive.search.searcher import Searcher
from newsarchive.index.embedders.hashing import HashEmbedder

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_4270a9efd2e10240.txt"
SEED_ID = "000_4270a9efd2e10240"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tests' own per-user cache (exported models), shared by the whole session."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    """No NEWSARCHIVE_* setting of the machine running the tests leaks into them, and no test
    writes to the real per-user cache."""
    monkeypatch.setenv("NEWSARCHIVE_CACHE", str(model_cache))
    monkeypatch.setenv("NEWSARCHIVE_TUNING", "off")  # no backend timing: the measured rule
    for name in (
        "NEWSARCHIVE_DATA",
        "NEWSARCHIVE_MODEL",
        "NEWSARCHIVE_BACKEND",
        "NEWSARCHIVE_THREADS",
        "NEWSARCHIVE_URL",
        "NEWSARCHIVE_API_KEY",
        "NEWSARCHIVE_READ_KEY",
        "NEWSARCHIVE_CORS_ORIGINS",
        "NEWSARCHIVE_ALLOW_PRIVATE",
        "NEWSARCHIVE_LOCK_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("NEWSARCHIVE_MAX_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def archive(tmp_path: Path, hash_embedder: HashEmbedder) -> Iterator[Archive]:
    """A fresh archive on the test embedder."""
    with Archive(tmp_path / "data", embedder=hash_embedder) as opened:
        yield opened


@pytest.fixture
def hash_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Archives opened by name (CLI, subprocesses) use the test embedder."""
    monkeypatch.setenv("NEWSARCHIVE_BACKEND", "hash")


@pytest.fixture(scope="session")
def model():
    """The real model (torch), loaded once per session."""
    from newsarchive.index.embedders import make_embedder

    embedder = make_embedder("torch")
    embedder.load()
    return embedder


@pytest.fixture
def model_archive(tmp_path: Path, model) -> Iterator[Archive]:
    """A fresh archive on the real model."""
    with Archive(tmp_path / "data", embedder=model) as opened:
        yield opened


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


NEWS = [
    {
        "id": "wheat-1",
        "title": "Wheat exports climb",
        "body": "Wheat exports from the United States rose sharply in March as buyers in Egypt "
        "and China placed large orders for the grain.\n\nTraders said prices on the Chicago "
        "Board of Trade firmed on the news.",
        "date": "1987-03-02",
        "source": "Reuters",
        "topics": ["grain", "wheat"],
    },
    {
        "id": "oil-1",
        "title": "OPEC holds output steady",
        "body": "Oil ministers from OPEC agreed to keep crude production unchanged at their "
        "meeting in Vienna, citing stable demand.\n\nBrent crude futures fell slightly after "
        "the announcement.",
        "date": "1987-06-27",
        "source": "Reuters",
        "topics": ["crude"],
    },
    {
        "id": "football-1",
        "title": "Late goal wins the derby",
        "body": "A late goal from the substitute striker gave the home side a dramatic win in the "
        "city derby on Saturday.\n\nThe manager praised his players for their patience.",
        "date": "2004-11-20",
        "source": "BBC",
        "category": "sport",
    },
    {
        "id": "tech-1",
        "title": "Broadband take-up soars",
        "body": "The number of homes with high-speed internet connections doubled over the past "
        "year, the telecoms regulator said.\n\nCheaper monthly packages drove the growth.",
        "date": "2004-12-01",
        "source": "BBC",
        "category": "tech",
    },
]


@pytest.fixture
def news_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "news.jsonl", NEWS)


def searcher_like(searcher: Searcher, **changes) -> Searcher:
    """A Searcher with the same parts as `searcher` but those named in `changes` (catalog,
    leads, pool...): the same archive searched another way, to compare the two."""
    parts = {
        "catalog": searcher.catalog,
        "keyword_search": searcher.keyword,
        "vector_search": searcher.vector_search,
        "encode_query": searcher.encode_query,
        "matches": searcher.matches,
        "leads": searcher.leads,
        **changes,
    }
    return Searcher(**parts)
