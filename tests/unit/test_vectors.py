"""Vector index kinds: exact and approximate search, deletions, filters before ranking,
saving and loading, and recall against exact search."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from newsarchive.index.vectors import auto_kind, build_index, ivf_lists, ivf_nprobe, load_index


def clustered(n: int, seed: int, dimension: int = 384) -> np.ndarray:
    """Unit vectors on 40 low-rank clusters: closer to real embeddings than uniform noise."""
    shape = np.random.default_rng(7)  # the same clusters for every call
    centers = shape.normal(size=(40, dimension))
    bases = shape.normal(size=(40, 16, dimension)) * 0.6
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 40, n)
    vectors = centers[labels] + np.einsum("nr,nrd->nd", rng.normal(size=(n, 16)), bases[labels])
    vectors += 0.2 * rng.normal(size=vectors.shape)
    vectors = vectors.astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_auto_kind_by_size():
    assert auto_kind(10, threshold=100) == "flat"
    assert auto_kind(100, threshold=100) == "ivf"


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_index_add_remove_filter_save(tmp_path: Path, kind: str):
    vectors = clustered(3000, seed=1)
    ids = np.arange(3000, dtype=np.int64) * 7 + 5  # passage ids are not positions
    exact = build_index("flat", 384, ids, vectors)
    index = build_index(kind, 384, ids[:2500], vectors[:2500])
    index.add(ids[2500:], vectors[2500:])
    assert len(index) == 3000 and np.array_equal(index.ids(), ids)
    query = clustered(1, seed=99)[0]

    removed = np.array([i for i, _ in exact.search(query, 3)])
    assert index.remove(removed) == 3 and exact.remove(removed) == 3
    assert len(index) == 2997
    assert not set(removed) & {i for i, _ in index.search(query, 50)}

    for allowed in (ids[::50], ids[::3]):  # narrow (searched exactly) and wide filters
        got = index.search(query, 10, allowed)
        assert {i for i, _ in got} <= set(allowed.tolist()) - set(removed.tolist())
        want = exact.search(query, 10, allowed)
        overlap = len({i for i, _ in got} & {i for i, _ in want})
        assert overlap >= 9

    index.save(tmp_path / "v.faiss", generation=12)
    loaded, generation = load_index(tmp_path / "v.faiss", 384)
    assert generation == 12 and loaded.kind == kind and len(loaded) == 2997
    assert json.loads((tmp_path / "v.json").read_text())["kind"] == kind
    assert loaded.search(query, 10) == index.search(query, 10)
    assert not set(removed) & {i for i, _ in loaded.search(query, 50)}


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_recall_at_10_against_exact(kind: str):
    vectors = clustered(5000, seed=2)
    ids = np.arange(5000, dtype=np.int64)
    exact = build_index("flat", 384, ids, vectors)
    index = build_index(kind, 384, ids, vectors)
    recalls = []
    for query in clustered(100, seed=3):
        want = {i for i, _ in exact.search(query, 10)}
        recalls.append(len(want & {i for i, _ in index.search(query, 10)}) / 10)
    assert np.mean(recalls) >= 0.95


def test_hnsw_tombstones_are_compacted():
    vectors = clustered(400, seed=4)
    ids = np.arange(400, dtype=np.int64)
    index = build_index("hnsw", 384, ids, vectors)
    index.remove(ids[:30])
    assert len(index.deleted) == 30 and len(index) == 370
    index.remove(ids[30:50])  # past 10% of the graph: rebuilt without them
    assert not index.deleted and index.index.ntotal == 350 and len(index) == 350
    assert np.array_equal(index.ids(), ids[50:])


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_wide_filters_select_the_same_ids_as_a_bitmap(kind: str, monkeypatch):
    """A dense filter goes to FAISS as a bitmap; the answers are those of IDSelectorBatch."""
    from newsarchive.index.vectors import base

    vectors = clustered(4000, seed=3)
    ids = np.arange(4000, dtype=np.int64) * 2 + 1
    index = build_index(kind, 384, ids, vectors)
    index.remove(ids[:50])  # hnsw hides removals behind a second selector
    monkeypatch.setattr(base, "EXACT_FILTER_LIMIT", 0)  # the selector, not brute force
    rng = np.random.default_rng(5)
    allowed = np.sort(rng.choice(ids, 2800, replace=False))
    kept: list = []
    assert isinstance(base.id_selector(allowed, kept), base.faiss.IDSelectorBitmap)
    assert isinstance(base.id_selector(allowed[::10], kept), base.faiss.IDSelectorBatch)
    queries = clustered(20, seed=9)
    with_bitmap = [index.search(q, 50, allowed) for q in queries]
    monkeypatch.setattr(base, "BITMAP_MIN", 10**9)  # every filter a batch, as before
    assert [index.search(q, 50, allowed) for q in queries] == with_bitmap
    assert all(pid in set(allowed) - set(ids[:50]) for hits in with_bitmap for pid, _ in hits)


@pytest.mark.parametrize(
    ("nlist", "nprobe"),
    # 256 lists (archives of ~45k-200k passages): 64, where real vectors gave recall@10
    # 0.973-0.981 and 32 gave 0.930-0.949 (bench/recall.py); 1,024 lists (1M): 64 gave 0.969;
    # then a sixteenth of the lists, and a thirty-second from 4,096 lists (the many-lists rule:
    # 4,096 lists at 1M, where 128 gave 0.978)
    [(16, 16), (256, 64), (512, 64), (1024, 64), (2048, 128), (4096, 128), (16384, 512)],
)
def test_ivf_visits_enough_lists_for_recall_on_real_vectors(nlist: int, nprobe: int):
    assert ivf_nprobe(nlist) == nprobe


@pytest.mark.parametrize(
    ("count", "nlist"),
    # ~sqrt(n) up to ~524k passages, then four times that (bench/README.md, "Recall on real
    # vectors": at 1M, 4,096 lists visited 128 at a time beat 1,024 visited 64 at a time)
    [(100_000, 256), (300_000, 512), (500_000, 512), (550_000, 4096), (1_000_000, 4096)]
    + [(4_000_000, 8192), (10_000_000, 16384)],
)
def test_large_archives_get_four_times_the_lists(count: int, nlist: int):
    assert ivf_lists(count) == nlist


def test_an_ivf_index_saved_with_an_older_lower_nprobe_searches_with_todays(tmp_path: Path):
    vectors = clustered(3000, seed=4)
    index = build_index("ivf", 384, np.arange(3000, dtype=np.int64), vectors)
    index.nprobe = 8  # what an earlier default stamped
    index.save(tmp_path / "v.faiss", generation=1)
    loaded, _ = load_index(tmp_path / "v.faiss", 384)
    assert loaded.nprobe == ivf_nprobe(64) == 64  # 3,000 vectors: 64 lists, all visited


def test_concurrent_saves_of_one_index_never_mix(tmp_path: Path):
    """Processes and threads saving one archive's index each write temporary files of their
    own (and under the files' lock): what is left is one whole save and its own stamp."""
    import os
    import threading

    path = tmp_path / "vectors.faiss"
    small = build_index("flat", 8, np.arange(3), clustered(3, seed=1, dimension=8))
    large = build_index("flat", 8, np.arange(50), clustered(50, seed=2, dimension=8))

    def save_often(index, generation: int) -> None:
        for _ in range(20):
            index.save(path, generation)

    threads = [threading.Thread(target=save_often, args=a) for a in ((small, 1), (large, 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "vectors.faiss",
        "vectors.json",
        "vectors.lock",
    ]
    loaded, generation = load_index(path, 8)
    assert (len(loaded), generation) in ((3, 1), (50, 2))
    # a save killed half-way leaves its own temporary files; the next reader removes them
    leftover = tmp_path / f"vectors.faiss.{os.getpid()}-1.tmp"
    leftover.write_bytes(b"half")
    (tmp_path / "vectors.json.tmp").write_text("{")
    assert load_index(path, 8)[1] in (1, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "vectors.faiss",
        "vectors.json",
        "vectors.lock",
    ]
