"""The pieces that keep inputs bounded: size settings, the line reader, the binary sniffer,
and the clean-up of what a killed model export left."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsarchive.archive import InputError
from newsarchive.archive.config import Limits, configured_limits, parse_size
from newsarchive.archive.sources import json_records
from newsarchive.archive.sources.files import looks_binary
from newsarchive.index.embedders.onnx_export import remove_stale_exports


def test_sizes_and_their_settings(monkeypatch: pytest.MonkeyPatch):
    assert [parse_size(t) for t in ("1000", "64K", "64M", "1G", "2 MiB", "x", "-1")] == [
        1000, 64 << 10, 64 << 20, 1 << 30, 2 << 20, None, None,
    ]  # fmt: skip
    assert configured_limits() == Limits()
    monkeypatch.setenv("NEWSARCHIVE_MAX_LINE_BYTES", "1M")
    assert configured_limits().line_bytes == 1 << 20
    monkeypatch.setenv("NEWSARCHIVE_MAX_FILE_BYTES", "lots")
    with pytest.raises(InputError, match="NEWSARCHIVE_MAX_FILE_BYTES='lots' is not a positive"):
        configured_limits()


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 20])
def test_lines_longer_than_the_limit_are_skipped_at_any_chunk_size(
    monkeypatch: pytest.MonkeyPatch, chunk: int
):
    monkeypatch.setattr(json_records, "CHUNK", chunk)
    data = b"short\n" + b"x" * 40 + b"\n" + b"0123456789\n" + b"y" * 30 + b"\nend"
    assert list(json_records._lines(io.BytesIO(data), 11)) == [
        b"short\n", None, b"0123456789\n", None, b"end",
    ]  # fmt: skip
    assert list(json_records._lines(io.BytesIO(b"z" * 100), 11)) == [None]


def test_binary_sniffing():
    assert looks_binary(b"text\x00more")
    assert looks_binary(bytes(range(1, 32)) * 10 + b"words " * 10)
    assert not looks_binary("Plain text, with tabs\tand\r\nnewlines; café.".encode())
    assert not looks_binary(b"")


def test_what_a_killed_export_left_is_removed_once_its_process_is_gone(tmp_path: Path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    folder = tmp_path / "models" / "abc-v2"
    (folder / f"export.tmp{gone}").mkdir(parents=True)
    (folder / f"export.tmp{gone}" / "model.onnx").write_bytes(b"half a graph")
    (folder / f"model.tmp{gone}.fused").write_bytes(b"older layout")
    (folder / f"export.tmp{os.getpid()}").mkdir()  # a running export: kept
    (folder / "model.onnx").write_bytes(b"the finished export")
    removed = remove_stale_exports(tmp_path / "models")
    assert sorted(p.name for p in removed) == [f"export.tmp{gone}", f"model.tmp{gone}.fused"]
    assert sorted(p.name for p in folder.iterdir()) == [f"export.tmp{os.getpid()}", "model.onnx"]
