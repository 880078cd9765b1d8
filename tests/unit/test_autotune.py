"""The default backend is the fastest one measured here, never slower than torch, int8 only at
fp32 quality, and an archive keeps its vector family. Timed with a fake clock: no real timing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsarchive.index.embedders import autotune


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeEmbedder:
    """Encodes by advancing the clock `seconds_per_text` per text: a known rate."""

    batch_size = 8

    def __init__(self, clock: FakeClock, seconds_per_text: float) -> None:
        self.clock = clock
        self.seconds_per_text = seconds_per_text
        self.calls = 0

    def encode(self, texts: list[str]) -> None:
        self.calls += 1
        self.clock.now += self.seconds_per_text * len(texts)


def fake_loader(clock: FakeClock, speeds: dict[str, float], loaded: list[str]):
    def load(backend: str) -> FakeEmbedder:
        loaded.append(backend)
        if backend not in speeds:
            raise RuntimeError(f"{backend} is not installed")
        return FakeEmbedder(clock, 1.0 / speeds[backend])

    return load


def test_calibrate_measures_each_backend_by_the_clock():
    clock = FakeClock()
    embedders = {"torch": FakeEmbedder(clock, 0.02), "onnx": FakeEmbedder(clock, 0.01)}
    rates = autotune.calibrate(embedders, ["text"] * 48, clock=clock)
    assert rates == {"torch": 50.0, "onnx": 100.0}
    assert embedders["torch"].calls == 4  # warm-up and timed encode, in each of two rounds


@pytest.mark.parametrize(
    ("rates", "family", "chosen"),
    [
        # a new archive: the fastest at fp32 quality, torch included
        ({"onnx": 60.0, "torch": 50.0, "onnx-int8": 120.0}, None, "onnx-int8"),
        # Intel Xeon with AVX-512 (issue 16): onnx fp32 0.75x torch, so never onnx there
        ({"onnx": 45.0, "torch": 60.0}, None, "torch"),
        ({"onnx": 45.0, "torch": 60.0, "onnx-int8": 116.0}, "fp32", "torch"),
        # within the noise margin the first candidate (onnx: cold start 1.5 s, not 10) stays
        ({"onnx": 50.0, "torch": 51.0}, None, "onnx"),
        # an existing archive keeps its family, however fast another is
        ({"onnx": 50.0, "torch": 40.0, "onnx-int8": 200.0}, "fp32", "onnx"),
        ({"onnx": 50.0, "torch": 90.0, "onnx-int8": 10.0}, "int8", "onnx-int8"),
    ],
)
def test_pick(rates, family, chosen):
    assert autotune.pick(rates, family) == chosen


def test_no_int8_for_new_archives_unless_it_is_at_fp32_quality(monkeypatch):
    monkeypatch.setattr(autotune, "INT8_AT_FP32_QUALITY", False)
    assert autotune.pick({"onnx": 60.0, "torch": 50.0, "onnx-int8": 200.0}, None) == "onnx"
    assert autotune.pick({"onnx": 60.0, "torch": 50.0, "onnx-int8": 200.0}, "int8") == "onnx-int8"


def test_calibrated_once_per_machine_then_read_from_the_cache(tmp_path: Path, monkeypatch):
    cache = tmp_path / "backends.json"
    monkeypatch.setenv(autotune.TUNING_ENV, str(cache))
    clock, loaded = FakeClock(), []
    load = fake_loader(clock, {"torch": 50.0, "onnx": 40.0, "onnx-int8": 110.0}, loaded)
    rates, source = autotune.machine_rates("model", load, clock=clock)
    assert source == "calibrated" and rates == {"onnx": 40.0, "torch": 50.0, "onnx-int8": 110.0}
    assert sorted(loaded) == ["onnx", "onnx-int8", "torch"]
    entry = json.loads(cache.read_text())[autotune.machine_key("model")]
    assert entry["rates"] == rates
    loaded.clear()
    assert autotune.machine_rates("model", load, clock=clock) == (rates, "cached")
    assert loaded == []  # nothing loaded, nothing timed


def test_a_damaged_cache_is_measured_again(tmp_path: Path, monkeypatch):
    cache = tmp_path / "backends.json"
    cache.write_text("{not json")
    monkeypatch.setenv(autotune.TUNING_ENV, str(cache))
    clock, loaded = FakeClock(), []
    load = fake_loader(clock, {"torch": 50.0, "onnx": 60.0, "onnx-int8": 90.0}, loaded)
    assert autotune.machine_rates("model", load, clock=clock)[1] == "calibrated"


def test_without_torch_or_with_tuning_off_the_measured_rule_answers(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(autotune.TUNING_ENV, str(tmp_path / "backends.json"))
    clock, loaded = FakeClock(), []
    load = fake_loader(clock, {"onnx": 60.0, "onnx-int8": 90.0}, loaded)  # torch missing
    rates, source = autotune.machine_rates("model", load, clock=clock)
    assert source == "rule" and rates == autotune.rule_rates()
    assert not (tmp_path / "backends.json").exists()
    monkeypatch.setenv(autotune.TUNING_ENV, "off")
    loaded.clear()
    assert autotune.machine_rates("model", load, clock=clock)[1] == "rule" and loaded == []


def test_the_rule_follows_the_measured_cpus():
    intel = autotune.rule_rates("GenuineIntel", ["avx2", "avx512f", "avx512_vnni"])
    assert autotune.pick(intel, "fp32") == "torch"  # onnx fp32 was 0.75x torch there
    amd = autotune.rule_rates("AuthenticAMD", ["avx2", "avx512f", "avx512_vnni"])
    assert autotune.pick(amd, "fp32") == "onnx"
    assert autotune.pick(intel, None) == autotune.pick(amd, None) == "onnx-int8"


def test_the_cache_lives_beside_the_exported_models(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(autotune.TUNING_ENV, raising=False)
    assert autotune.cache_file(tmp_path / "models") == tmp_path / "backends.json"
    monkeypatch.setenv(autotune.TUNING_ENV, "off")
    assert autotune.cache_file(tmp_path / "models") is None
