"""A model folder saved by sentence-transformers 5 (what a fine-tune writes) names its pooling
as `pooling_mode: "mean"`, not a flag per mode; the backends must pool it the same way as the
older folders, and refuse a mode they cannot do instead of failing inside the encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from newsarchive.index.embedders.base import ModelError
from newsarchive.index.embedders.model_folder import ModelFolder


def folder(tmp_path: Path, pooling: dict) -> Path:
    (tmp_path / "1_Pooling").mkdir(parents=True)
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 384}))
    modules = [
        {"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.base.pooling.Pooling"},
        {"idx": 2, "path": "2_Normalize", "type": "sentence_transformers.base.Normalize"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    return tmp_path


def test_a_pooling_mode_name_becomes_the_flag_the_backends_read(tmp_path: Path):
    model = ModelFolder(folder(tmp_path, {"embedding_dimension": 384, "pooling_mode": "mean"}))
    assert model.pooling["pooling_mode_mean_tokens"] is True
    assert not model.pooling.get("pooling_mode_cls_token")
    assert model.dimension == 384 and model.normalize


def test_the_onnx_pooling_of_such_a_folder_is_the_mean(tmp_path: Path):
    from newsarchive.index.embedders.onnxrt import OnnxEmbedder

    embedder = OnnxEmbedder.__new__(OnnxEmbedder)
    embedder.folder = ModelFolder(folder(tmp_path, {"pooling_mode": "mean"}))
    hidden = np.array([[[3.0, 4.0], [1.0, 0.0], [9.0, 9.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    pooled = embedder._pool(hidden, mask)  # the mean of the two real tokens, normalised
    assert np.allclose(pooled, [[0.7071068, 0.7071068]])


def test_an_unknown_pooling_mode_is_refused_naming_the_folder(tmp_path: Path):
    model = ModelFolder(folder(tmp_path, {"pooling_mode": "weightedmean"}))
    with pytest.raises(ModelError, match=r"pooling mode 'weightedmean' is not supported"):
        _ = model.pooling
