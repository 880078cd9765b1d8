"""Embedding backends with the real model: onnx equals torch, the export is cached and fused,
onnx never imports torch, fp32 backends share an archive, int8 is kept apart until re-embedded,
and the backend follows the archive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from newsarchive.archive import Archive, ArchiveError
from newsarchive.archive.ingest.embed import HEADING_WEIGHT, encode_inputs
from newsarchive.index.embedders import make_embedder

from conftest import NEWS


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-models")


@pytest.fixture(scope="session")
def onnx_embedder(model, onnx_cache: Path):
    onnx = make_embedder("onnx", model.path, cache_dir=onnx_cache)
    onnx.load()
    return onnx


def test_onnx_vectors_match_torch(model, onnx_embedder):
    texts = [r["body"] for r in NEWS] + ["short", "a much longer query about grain and oil " * 9]
    torch_vectors = model.encode(texts)
    onnx_vectors = onnx_embedder.encode(texts)
    cosines = (torch_vectors * onnx_vectors).sum(axis=1)
    assert cosines.min() > 0.999
    assert np.abs(torch_vectors - onnx_vectors).max() < 1e-4
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1, atol=1e-5)
    assert onnx_embedder.count_tokens(texts) == model.count_tokens(texts)


def test_onnx_export_is_cached_by_model_fingerprint(model, onnx_embedder, onnx_cache: Path):
    exported = list(onnx_cache.glob("*/model.onnx"))
    assert [p.parent.name for p in exported] == [f"{onnx_embedder.fingerprint}-v2"]
    assert onnx_embedder.fingerprint == model.fingerprint  # one scheme: the model, not the backend


def test_onnx_export_uses_fused_transformer_kernels(onnx_embedder):
    """The export the backends run is the fused one (the int8 model is quantised from it); a
    silent fall-back to the plain export would keep working, only slower."""
    import onnx

    graph = onnx.load(str(onnx_embedder.model_file())).graph
    assert {"Attention", "SkipLayerNormalization"} <= {node.op_type for node in graph.node}


def test_onnx_backend_does_not_import_torch(model, onnx_cache):
    code = (
        "import sys\n"
        "from newsarchive.index.embedders import make_embedder\n"
        f"m = make_embedder('onnx', {str(model.path)!r}, cache_dir={str(onnx_cache)!r})\n"
        "m.encode(['wheat exports'])\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_fp32_backends_share_an_archive(tmp_path: Path, model, onnx_embedder):
    data = tmp_path / "data"
    with Archive(data, embedder=model) as archive:
        archive.ingest_articles(NEWS)
        assert archive.stats()["backend"] == "torch"
    with Archive(data, embedder=onnx_embedder) as archive:
        hits = archive.search("wheat exports to Egypt", mode="semantic").hits
        assert hits[0].article.id == "wheat-1"


def test_backend_mismatch_is_refused_then_reembedded(tmp_path: Path, onnx_embedder, onnx_cache):
    data = tmp_path / "data"
    with Archive(data, embedder=onnx_embedder) as archive:
        archive.ingest_articles(NEWS)
        before = archive.store.passage_ids()
    quantized = make_embedder("onnx-int8", onnx_embedder.path, cache_dir=onnx_cache)
    with Archive(data, embedder=quantized) as archive:
        with pytest.raises(ArchiveError, match="reindex --reembed"):
            archive.search("wheat", mode="semantic")
        with pytest.raises(ArchiveError):
            archive.ingest_articles([{"id": "x", "title": "t", "body": "Some new text here."}])
        result = archive.reindex(reembed=True)
        assert result["reembedded"] == len(before)
        assert archive.stats()["backend"] == "onnx-int8"
        hits = archive.search("wheat exports to Egypt", mode="semantic").hits
        assert hits[0].article.id == "wheat-1"
        assert np.array_equal(archive.store.passage_ids(), before)
    with Archive(data, embedder=onnx_embedder) as archive:
        with pytest.raises(ArchiveError, match="onnx-int8"):
            archive.search("wheat", mode="semantic")


def test_backend_follows_the_archive_unless_configured(tmp_path: Path, monkeypatch):
    data = tmp_path / "data"
    from newsarchive.index.embedders import autotune

    archive = Archive(data)  # tuning is off in the tests: the measured rule decides
    assert archive.backend == autotune.pick(autotune.rule_rates(), None)  # a new archive
    archive.store.set_meta({"model_fingerprint": "x"})  # an archive from before backends
    assert archive.identity.stored_backend() == "torch"
    assert archive.backend == autotune.pick(autotune.rule_rates(), "fp32")  # same vectors
    archive.store.set_meta({"backend": "onnx-int8"})
    assert archive.backend == "onnx-int8"
    monkeypatch.setenv("NEWSARCHIVE_BACKEND", "torch")
    assert archive.backend == "torch"
    archive.close()


def test_torch_keeps_its_threads_after_faiss_asks_for_one(model):
    """torch and faiss share one OpenMP runtime; faiss's single thread must not halve torch."""
    import faiss
    import torch

    faiss.omp_set_num_threads(1)
    model.encode(["a passage"])
    assert torch.get_num_threads() == model.threads


def test_stored_vectors_are_normalised_and_match_the_model(model_archive: Archive, news_file: Path):
    archive = model_archive
    archive.ingest([news_file])
    ids = archive.store.passage_ids()
    vectors = archive.store.vectors_for(ids, archive.embedder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    stored = archive.get("wheat-1")
    text = stored["passages"][0]["text"]
    # the passage's vector holds its article's heading too (ingest/embed.py)
    [fresh] = encode_inputs(archive.embedder.encode, [text], [stored["title"]], HEADING_WEIGHT)
    assert float(fresh @ vectors[0]) > 0.999
    assert archive.stats()["articles"] == 4
