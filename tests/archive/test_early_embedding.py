"""Ingest with an encoder that works elsewhere (early.py): the passages of batches still
waiting for the writer are sent off early, and the archive ends up exactly as a local ingest
leaves it. A stand-in encoder here; tests/archive/test_ray.py runs the real one on Ray."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from newsarchive.archive import Archive
from newsarchive.index.embedders.hashing import HashEmbedder

from conftest import NEWS


class Elsewhere:
    """An AheadEncoder that records what it was sent and when."""

    ahead = 3

    def __init__(self) -> None:
        self.model = HashEmbedder()
        self.submitted: list[list[str]] = []
        self.collected = 0
        self.submitted_before_first_result = 0
        self.encoded: list[str] = []

    def submit(self, texts: list[str]) -> int:
        self.submitted.append(list(texts))
        return len(self.submitted) - 1

    def result(self, handle: int) -> np.ndarray:
        if not self.collected:  # slow to answer the first time: later batches go out meanwhile
            deadline = time.monotonic() + 5
            while len(self.submitted) < 1 + self.ahead and time.monotonic() < deadline:
                time.sleep(0.01)
            self.submitted_before_first_result = len(self.submitted)
        self.collected += 1
        return self.model.encode(self.submitted[handle])

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return self.model.encode(texts)


def records(n: int) -> list[dict]:
    """Articles of one passage; every other one a short market note that many articles share
    (different titles: not copies), so stored vectors are reused across batches."""
    return [
        {
            "id": f"e{i}",
            "title": f"Report {i}",
            "body": f"Harvest report number {i} on wheat and barley in region {i}."
            if i % 2
            else f"Markets closed mixed on the day, note {i % 3}.",
            "date": "1987-03-02",
        }
        for i in range(n)
    ]


def rows(archive: Archive) -> list:
    return archive.store.conn.execute(
        "SELECT article_id, position, text, text_hash, vector FROM passages "
        "ORDER BY article_id, position"
    ).fetchall()


def test_early_embedding_leaves_the_archive_a_local_ingest_leaves(tmp_path: Path):
    corpus = records(300) + NEWS  # five batches of 64
    with Archive(tmp_path / "local", embedder=HashEmbedder()) as local:
        expected = local.ingest_articles(corpus).to_dict()
        encoder = Elsewhere()
        with Archive(tmp_path / "early", embedder=HashEmbedder()) as early:
            report = early.ingest_articles(corpus, encoder=encoder).to_dict()
            assert rows(early) == rows(local)
            assert len(early.vectors.current()) == early.stats()["passages"]
            # again: nothing sent off, nothing embedded; an edit: only its new passage
            again = early.ingest_articles(corpus, encoder=encoder)
            assert again.passages_embedded == 0 and again.unchanged == len(corpus)
            edited = [dict(NEWS[0], body=NEWS[0]["body"] + "\n\nA late line on the grain.")]
            assert early.ingest_articles(edited, encoder=encoder).passages_embedded == 1
            local.ingest_articles(edited)
            assert rows(early) == rows(local)
            rows_after = rows(early)
    for name in ("seconds",):
        expected.pop(name), report.pop(name)
    assert report == expected
    assert encoder.submitted_before_first_result >= 1 + Elsewhere.ahead, "nothing sent off early"
    # each passage is embedded with its article's heading (titles differ), so none is shared
    assert expected["passages_embedded"] == 300 + len(NEWS)
    sent = {t for batch in encoder.submitted for t in batch}
    texts = {row[2] for row in rows_after}
    assert texts <= sent  # every passage's own text went off early; headings and leads are
    assert set(encoder.encoded) & texts <= set()  # encoded beside them, never a passage again
