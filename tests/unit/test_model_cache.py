"""One model export per machine: the ONNX file lives in the per-user cache, keyed by the
model's fingerprint and the export version, shared by every archive, built under a temporary
name and announced while it is built."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from rich.console import Console

from newsarchive.archive import Archive
from newsarchive.cli.output import show_library_notes
from newsarchive.index.embedders import onnxrt
from newsarchive.index.embedders.onnx_export import EXPORT_VERSION


def fake_export(calls: list[Path]):
    def export(model_path: Path, target: Path) -> None:
        calls.append(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"onnx")

    return export


def test_archives_share_one_export_in_the_user_cache(
    tmp_path: Path, model_cache: Path, monkeypatch, caplog
):
    calls: list[Path] = []
    monkeypatch.setattr(onnxrt, "export_onnx", fake_export(calls))
    first, second = Archive(tmp_path / "one"), Archive(tmp_path / "two")
    embedders = [first.embedder, second.embedder]  # the default backend: onnx
    assert {e.cache_dir for e in embedders} == {model_cache / "models"}
    with caplog.at_level(logging.INFO, logger="newsarchive.models"):
        files = {e.model_file() for e in embedders}
    folder = model_cache / "models" / f"{embedders[0].fingerprint}-v{EXPORT_VERSION}"
    assert files == {folder / "model.onnx"} and calls == [folder / "model.onnx"]  # built once
    assert not (tmp_path / "one" / "models").exists()  # was 87 MB in every archive
    assert caplog.messages[0] == (
        f"exporting model {embedders[0].name!r} to ONNX, once per machine, into {folder} "
        "(this takes a minute)..."
    )
    assert caplog.messages[1].startswith(f"exporting model {embedders[0].name!r} to ONNX: done in")
    first.close()
    second.close()


def test_the_cli_shows_what_the_library_is_doing(monkeypatch):
    logger = logging.getLogger("newsarchive")
    monkeypatch.setattr(logger, "handlers", [])  # the test's own, gone afterwards
    monkeypatch.setattr(logger, "level", logger.level)
    out = io.StringIO()
    show_library_notes(Console(file=out, width=200))
    show_library_notes(Console(file=io.StringIO()))  # once: a second call adds nothing
    logging.getLogger("newsarchive.models").info("exporting model 'x' to ONNX")
    assert out.getvalue() == "exporting model 'x' to ONNX\n"
