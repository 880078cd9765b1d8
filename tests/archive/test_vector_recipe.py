"""Which backend an archive uses, and which vectors it accepts: a new archive gets the fastest
backend here, an old one keeps its vector family, and int8 vectors of another quantisation
recipe are refused rather than mixed."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsarchive.archive import Archive, ArchiveError
from newsarchive.index.embedders.hashing import HashEmbedder


class RecipeEmbedder(HashEmbedder):
    """The test embedder, as an int8 backend of a given recipe."""

    backend = "onnx-int8"
    family = "int8"

    def __init__(self, recipe: str) -> None:
        super().__init__()
        self.recipe = recipe


def test_new_archives_get_the_preferred_backend_and_old_ones_keep_their_family(
    tmp_path: Path, monkeypatch
):
    asked = []

    def preferred(family):
        asked.append(family)
        return {None: "onnx-int8", "fp32": "torch", "int8": "onnx-int8"}[family]

    archive = Archive(tmp_path / "data")
    monkeypatch.setattr(archive, "_preferred_backend", preferred)
    assert archive.backend == "onnx-int8"  # new: the fastest at fp32 quality
    archive.store.set_meta({"model_fingerprint": "x", "backend": "onnx"})
    assert archive.backend == "torch"  # fp32 stays fp32, on the faster fp32 backend
    archive.store.set_meta({"backend": "onnx-int8"})
    assert archive.backend == "onnx-int8"
    assert asked == [None, "fp32", "int8"]
    monkeypatch.setenv("NEWSARCHIVE_BACKEND", "onnx")
    assert archive.backend == "onnx"  # an explicit choice wins (checked when it embeds)
    archive.close()


def test_the_recipe_is_recorded_and_another_is_refused(tmp_path: Path):
    data = tmp_path / "data"
    with Archive(data, embedder=RecipeEmbedder("split-v1")) as archive:
        archive.ingest_articles([{"id": "a", "title": "t", "body": "Wheat exports rose."}])
        assert archive.store.get_meta("vector_recipe") == "split-v1"
    with Archive(data, embedder=RecipeEmbedder("split-v2")) as archive:
        with pytest.raises(ArchiveError) as caught:
            archive.search("wheat", mode="semantic")
    assert str(caught.value) == (
        f"{data}: archive's int8 vectors were made with recipe 'split-v1', and backend "
        "'onnx-int8' now makes 'split-v2'; run `newsarchive reindex --reembed` to convert it, "
        "or set NEWSARCHIVE_BACKEND=onnx for fp32 vectors (also a re-embedding)"
    )
    with Archive(data, embedder=RecipeEmbedder("split-v2")) as archive:
        assert archive.reindex(reembed=True)["reembedded"] == 1
        assert archive.store.get_meta("vector_recipe") == "split-v2"
        assert archive.search("wheat", mode="semantic").hits[0].article.id == "a"


def test_int8_archives_from_before_recipes_hold_the_legacy_one(tmp_path: Path):
    data = tmp_path / "data"
    with Archive(data, embedder=RecipeEmbedder("split-v1")) as archive:
        archive.ingest_articles([{"id": "a", "title": "t", "body": "Wheat exports rose."}])
        archive.store.delete_meta("vector_recipe")
        assert archive.identity.stored_recipe() == "dynamic-v0"
        with pytest.raises(ArchiveError, match="recipe 'dynamic-v0'"):
            archive.search("wheat", mode="semantic")
