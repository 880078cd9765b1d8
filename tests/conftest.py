"""Shared fixtures: one real embedding model per test session, a fresh archive per test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsarchive.archive import Archive
from newsarchive.index.embedding import Embedder

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_4270a9efd2e10240.txt"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    model = Embedder()
    model.load()
    return model


@pytest.fixture
def archive(tmp_path: Path, embedder: Embedder) -> Archive:
    with Archive(tmp_path / "data", embedder=embedder) as opened:
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
