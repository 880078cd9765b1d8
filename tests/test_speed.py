"""Embedding backends, index kinds chosen by size, and approximate search against exact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from newsarchive.archive import Archive
from newsarchive.archive.archive import ArchiveError
from newsarchive.index.embedding import Embedder, make_embedder
from newsarchive.index.vectors import VectorIndex, auto_kind

from conftest import NEWS


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-models")


@pytest.fixture(scope="session")
def onnx_embedder(embedder: Embedder, onnx_cache: Path):
    model = make_embedder(str(embedder.path), "onnx", onnx_cache)
    model.load()
    return model


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


# -- backends ------------------------------------------------------------------------------
def test_onnx_vectors_match_torch(embedder: Embedder, onnx_embedder):
    texts = [r["body"] for r in NEWS] + ["short", "a much longer query about grain and oil " * 9]
    torch_vectors = embedder.encode(texts)
    onnx_vectors = onnx_embedder.encode(texts)
    cosines = (torch_vectors * onnx_vectors).sum(axis=1)
    assert cosines.min() > 0.999
    assert np.abs(torch_vectors - onnx_vectors).max() < 1e-4
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1, atol=1e-5)
    assert onnx_embedder.count_tokens(texts) == embedder.count_tokens(texts)


def test_onnx_export_is_cached_by_model_fingerprint(onnx_embedder, onnx_cache: Path):
    exported = list(onnx_cache.glob("*/model.onnx"))
    assert [p.parent.name for p in exported] == [onnx_embedder.fingerprint]


def test_onnx_export_uses_fused_transformer_kernels(onnx_embedder):
    """The export the backends run is the fused one (the int8 model is quantised from it); a
    silent fall-back to the plain export would keep working, only slower."""
    import onnx

    graph = onnx.load(str(onnx_embedder.model_file())).graph
    assert {"Attention", "SkipLayerNormalization"} <= {node.op_type for node in graph.node}


def test_onnx_backend_does_not_import_torch(tmp_path: Path, embedder: Embedder, onnx_cache):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from newsarchive.index.embedding import make_embedder\n"
        f"m = make_embedder({str(embedder.path)!r}, 'onnx', {str(onnx_cache)!r})\n"
        "m.encode(['wheat exports'])\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_fp32_backends_share_an_archive(tmp_path: Path, embedder: Embedder, onnx_embedder):
    data = tmp_path / "data"
    with Archive(data, embedder=embedder) as archive:
        archive.ingest_articles(NEWS)
        assert archive.stats()["backend"] == "torch"
    with Archive(data, embedder=onnx_embedder) as archive:
        hits = archive.search("wheat exports to Egypt", mode="semantic").hits
        assert hits[0].article["id"] == "wheat-1"


def test_backend_mismatch_is_refused_then_reembedded(tmp_path: Path, onnx_embedder, onnx_cache):
    data = tmp_path / "data"
    with Archive(data, embedder=onnx_embedder) as archive:
        archive.ingest_articles(NEWS)
        before = archive.store.passage_ids()
    quantized = make_embedder(str(onnx_embedder.path), "onnx-int8", onnx_cache)
    with Archive(data, embedder=quantized) as archive:
        with pytest.raises(ArchiveError, match="reindex --reembed"):
            archive.search("wheat", mode="semantic")
        with pytest.raises(ArchiveError):
            archive.ingest_articles([{"id": "x", "title": "t", "body": "Some new text here."}])
        result = archive.reindex(reembed=True)
        assert result["reembedded"] == len(before)
        assert archive.stats()["backend"] == "onnx-int8"
        hits = archive.search("wheat exports to Egypt", mode="semantic").hits
        assert hits[0].article["id"] == "wheat-1"
        assert np.array_equal(archive.store.passage_ids(), before)
    with Archive(data, embedder=onnx_embedder) as archive:
        with pytest.raises(ArchiveError, match="onnx-int8"):
            archive.search("wheat", mode="semantic")


def test_backend_follows_the_archive_unless_configured(tmp_path: Path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.delenv("NEWSARCHIVE_BACKEND", raising=False)
    archive = Archive(data)
    assert archive.backend == "onnx"  # a new archive gets the default
    archive.store.set_meta("model_fingerprint", "x")  # an archive from before backends
    assert archive.stored_backend() == "torch"
    assert archive.backend == "onnx"  # same vectors, faster
    archive.store.set_meta("backend", "onnx-int8")
    assert archive.backend == "onnx-int8"
    monkeypatch.setenv("NEWSARCHIVE_BACKEND", "torch")
    assert archive.backend == "torch"
    archive.close()


# -- index kinds ---------------------------------------------------------------------------
def test_auto_kind_by_size():
    assert auto_kind(10, threshold=100) == "flat"
    assert auto_kind(100, threshold=100) == "ivf"


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_index_add_remove_filter_save(tmp_path: Path, kind: str):
    vectors = clustered(3000, seed=1)
    ids = np.arange(3000, dtype=np.int64) * 7 + 5  # passage ids are not positions
    exact = VectorIndex.build(384, "flat", ids, vectors)
    index = VectorIndex.build(384, kind, ids[:2500], vectors[:2500])
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
    loaded, generation = VectorIndex.load(tmp_path / "v.faiss", 384)
    assert generation == 12 and loaded.kind == kind and len(loaded) == 2997
    assert json.loads((tmp_path / "v.json").read_text())["kind"] == kind
    assert loaded.search(query, 10) == index.search(query, 10)
    assert not set(removed) & {i for i, _ in loaded.search(query, 50)}


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_recall_at_10_against_exact(kind: str):
    vectors = clustered(5000, seed=2)
    ids = np.arange(5000, dtype=np.int64)
    exact = VectorIndex.build(384, "flat", ids, vectors)
    index = VectorIndex.build(384, kind, ids, vectors)
    recalls = []
    for query in clustered(100, seed=3):
        want = {i for i, _ in exact.search(query, 10)}
        recalls.append(len(want & {i for i, _ in index.search(query, 10)}) / 10)
    assert np.mean(recalls) >= 0.95


def test_hnsw_tombstones_are_compacted():
    vectors = clustered(400, seed=4)
    ids = np.arange(400, dtype=np.int64)
    index = VectorIndex.build(384, "hnsw", ids, vectors)
    index.remove(ids[:30])
    assert len(index.deleted) == 30 and len(index) == 370
    index.remove(ids[30:50])  # past 10% of the graph: rebuilt without them
    assert not index.deleted and index.index.ntotal == 350 and len(index) == 350
    assert np.array_equal(index.ids(), ids[50:])


def test_archive_moves_to_ivf_past_the_threshold(tmp_path: Path, embedder: Embedder):
    data = tmp_path / "data"
    with Archive(data, embedder=embedder) as archive:
        archive.index_threshold = 3
        archive.ingest_articles(NEWS[:2])
        assert archive.index.kind == "flat"
        archive.ingest_articles(NEWS[2:])
        assert len(archive.index) >= 3 and archive.index.kind == "ivf"
        assert archive.stats()["index"] == "ivf"
        archive.remove(["oil-1"])
        hits = archive.search("wheat exports", mode="semantic", where=["topics=grain"]).hits
        assert [h.article["id"] for h in hits] == ["wheat-1"]
    with Archive(data, embedder=embedder) as archive:
        assert archive.index.kind == "ivf"
        assert archive.search("derby goal", mode="semantic").hits[0].article["id"] == "football-1"
        ids = {h.article["id"] for h in archive.search("oil", mode="semantic", limit=10).hits}
        assert "oil-1" not in ids


def test_reindex_switches_kind_from_the_cli(tmp_path: Path, embedder: Embedder, monkeypatch):
    from typer.testing import CliRunner

    from newsarchive.cli import main as cli

    data = tmp_path / "data"
    with Archive(data, embedder=embedder) as archive:
        archive.ingest_articles(NEWS)
    monkeypatch.setattr(cli, "open_archive", lambda d: Archive(data, embedder=embedder))
    runner = CliRunner()
    stamp = data / "vectors.json"
    for kind, expected in (("hnsw", "hnsw"), ("ivf", "ivf"), ("flat", "flat"), ("auto", "flat")):
        result = runner.invoke(cli.app, ["reindex", "--index", kind])
        assert result.exit_code == 0, result.output
        assert f"({expected}" in result.output
        assert json.loads(stamp.read_text())["kind"] == expected
        with Archive(data, embedder=embedder) as archive:
            assert archive.index_kind() == kind
            hits = archive.search("broadband internet", mode="semantic").hits
            assert hits[0].article["id"] == "tech-1"
    result = runner.invoke(cli.app, ["reindex", "--index", "bogus"])
    assert result.exit_code != 0


# -- pipelined ingest ----------------------------------------------------------------------
def test_pipeline_judges_repeats_against_what_is_written(archive: Archive, monkeypatch):
    import newsarchive.archive.archive as module

    monkeypatch.setattr(module, "BATCH_ARTICLES", 1)  # every article its own batch
    edited = dict(NEWS[1], body=NEWS[1]["body"] + "\n\nA late paragraph about the talks.")
    report = archive.ingest_articles([NEWS[0], NEWS[1], NEWS[0], edited, NEWS[2]])
    assert (report.new, report.unchanged, report.changed) == (3, 1, 1)
    assert archive.stats()["articles"] == 3
    assert len(archive.index) == archive.stats()["passages"]


def test_pipeline_errors_reach_the_caller(archive: Archive, monkeypatch):
    def broken(texts):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(archive.embedder, "encode", broken)
    with pytest.raises(RuntimeError, match="model exploded"):
        archive.ingest_articles(NEWS * 40)
    monkeypatch.undo()
    assert archive.stats()["articles"] == 0


def test_torch_keeps_its_threads_after_faiss_asks_for_one(embedder: Embedder):
    """torch and faiss share one OpenMP runtime; faiss's single thread must not halve torch."""
    import faiss
    import torch

    faiss.omp_set_num_threads(1)
    embedder.encode(["a passage"])
    assert torch.get_num_threads() == embedder.threads
