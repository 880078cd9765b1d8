"""Which backend embeds fastest on this machine: measured once per CPU model, cached.

Backends come in vector families: `onnx` and `torch` make the same fp32 vectors, so an fp32
archive may be embedded by whichever is faster here; `onnx-int8` vectors are a family of their
own and never mix with them. Which backend is fastest depends on the CPU (AVX2 only, AVX-512,
VNNI; AMD or Intel) more than on anything else: onnx fp32 was 1.26x torch on an AMD CPU with
AVX2 but 0.75x torch on an Intel Xeon with AVX-512 (bench/README.md). So the first time an
archive needs an embedder on a machine, `calibrate` times each candidate on a few dozen
passages, alternating, and the rates are cached per CPU model, core count, library versions and
model (`cached_rates`); later processes read the cache.

A new archive gets the fastest candidate, torch included, so the default is never slower than
torch; int8 is a candidate only while INT8_AT_FP32_QUALITY holds (its dev-set figures are within
the noise of fp32, bench/eval.py --paired). An existing archive keeps its family and gets that
family's fastest backend. Without a calibration (`NEWSARCHIVE_TUNING=off`, or a backend that
cannot load) `rule_rates` answers from the measurements in bench/README.md.

`NEWSARCHIVE_TUNING=off` disables measuring; `NEWSARCHIVE_TUNING=PATH` moves the cache file.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger("newsarchive.models")

TUNING_ENV = "NEWSARCHIVE_TUNING"
FAMILY_BACKENDS = {"fp32": ("onnx", "torch"), "int8": ("onnx-int8",)}
# Set from bench/eval.py --paired onnx-int8 (bench/README.md, "int8 at fp32 quality"): True
# only while every dev set, full and low-overlap, shows no significant difference from fp32.
INT8_AT_FP32_QUALITY = True
# Another family or backend must beat the first candidate by this much: one short run is noisy.
MARGIN = 1.05
CALIBRATION_PASSAGES = 48
ROUNDS = 2

_TEXT = (
    "The central bank left its benchmark interest rate unchanged on Thursday, saying growth "
    "had slowed in the second quarter while prices for food and energy kept rising. Analysts "
    "had expected the decision, but several said the statement pointed to a cut before the end "
    "of the year. Exporters welcomed the news after the currency fell to its lowest level "
    "against the dollar since March, and shares in the largest banks closed higher. The "
    "government is due to publish revised figures for industrial output and unemployment next "
    "week, and the finance minister will present the budget to parliament in October."
)


def _cpuinfo(field: str) -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def cpu_model() -> str:
    """The CPU's model name, e.g. 'AMD EPYC 9R14' (platform.processor() off Linux)."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_features() -> list[str]:
    """The instruction-set extensions that decide these speeds (Linux; empty elsewhere)."""
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8")
    flags = set(_cpuinfo("flags").split())
    return [f for f in wanted if f in flags]


def describe_cpu() -> str:
    """'AMD EPYC 9R14 (2 cores; avx2, fma, avx512f, avx512_vnni)', for benchmark output."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu_model()} ({cores} cores; {', '.join(cpu_features()) or 'no AVX2'})"


def machine_key(model_name: str) -> str:
    """What the rates depend on: CPU, threads, library versions, model, int8 recipe."""
    from importlib.metadata import PackageNotFoundError, version

    from .base import default_threads
    from .onnx_export import EXPORT_VERSION, INT8_RECIPE

    versions = []
    for package in ("onnxruntime", "torch"):
        try:
            versions.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            versions.append(f"{package} -")
    return " | ".join(
        [
            cpu_model(),
            " ".join(cpu_features()),
            f"{default_threads()} threads",
            *versions,
            model_name,
            f"export v{EXPORT_VERSION} {INT8_RECIPE}",
        ]
    )


def cache_file(models_dir: str | Path | None = None) -> Path | None:
    """The calibration cache beside the exported models' folder, or None when tuning is off."""
    configured = os.environ.get(TUNING_ENV, "").strip()
    if configured.lower() in ("off", "0", "no", "false"):
        return None
    if configured:
        return Path(configured).expanduser()
    from .onnxrt import default_cache_dir

    return Path(models_dir or default_cache_dir()).parent / "backends.json"


def cached_rates(key: str, file: Path | None) -> dict[str, float] | None:
    if file is None or not file.is_file():
        return None
    try:
        entry = json.loads(file.read_text()).get(key)
        return {str(k): float(v) for k, v in entry["rates"].items()} if entry else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # a damaged cache is measured again


def store_rates(key: str, file: Path, rates: dict[str, float]) -> None:
    """Add this machine's rates to the cache (written to a temporary name, then renamed)."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(file.read_text()) if file.is_file() else {}
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[key] = {"rates": rates, "measured": time.strftime("%Y-%m-%d %H:%M:%S")}
    tmp = file.with_name(f"{file.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, file)
    except OSError:
        tmp.unlink(missing_ok=True)


def rule_rates(vendor: str | None = None, features: Sequence[str] | None = None) -> dict:
    """Relative encode rates (torch = 1) measured on the CPU kinds seen so far (bench/README.md):
    onnx fp32 0.75x torch on Intel with AVX-512, faster than torch elsewhere; int8 1.9-2.4x."""
    vendor = _cpuinfo("vendor_id") if vendor is None else vendor
    features = cpu_features() if features is None else features
    intel_avx512 = "Intel" in vendor and "avx512f" in features
    return {"torch": 1.0, "onnx": 0.75 if intel_avx512 else 1.26, "onnx-int8": 1.9}


def calibration_texts(count: int = CALIBRATION_PASSAGES) -> list[str]:
    """Passages of 60-130 tokens of English news prose, all different."""
    words = _TEXT.split()
    texts = []
    for number in range(count):
        length = 45 + (number * 37) % 55
        start = (number * 11) % len(words)
        texts.append(" ".join((words[start:] + words)[:length]) + f" ({number})")
    return texts


def measure(embedder, texts: list[str], clock: Callable[[], float] = time.perf_counter) -> float:
    """Passages per second of `embedder.encode` on `texts` (after one warm-up batch)."""
    embedder.encode(texts[: embedder.batch_size])
    started = clock()
    embedder.encode(texts)
    return len(texts) / max(clock() - started, 1e-9)


def calibrate(
    embedders: dict,
    texts: list[str] | None = None,
    *,
    rounds: int = ROUNDS,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Passages/s of each embedder (name -> loaded embedder): `rounds` alternating rounds,
    each backend's best round (the least disturbed by other load on the machine)."""
    texts = texts or calibration_texts()
    rates: dict[str, float] = {}
    for number in range(rounds):
        order = list(embedders) if number % 2 == 0 else list(reversed(embedders))
        for name in order:
            rates[name] = max(rates.get(name, 0.0), measure(embedders[name], texts, clock))
    return {name: round(rate, 2) for name, rate in rates.items()}


def candidates(family: str | None) -> tuple[str, ...]:
    """The backends an archive of `family` may use; None is a new archive."""
    if family is not None:
        return FAMILY_BACKENDS.get(family, ())
    return FAMILY_BACKENDS["fp32"] + (FAMILY_BACKENDS["int8"] if INT8_AT_FP32_QUALITY else ())


def pick(rates: dict[str, float], family: str | None) -> str:
    """The fastest measured candidate; the first candidate unless another beats it by MARGIN.
    torch is always a candidate of a new archive, so the choice is never slower than torch."""
    allowed = [b for b in candidates(family) if b in rates]
    if not allowed:
        return candidates(family)[0] if candidates(family) else "onnx"
    chosen = allowed[0]
    for backend in allowed[1:]:
        if rates[backend] > MARGIN * rates[chosen]:
            chosen = backend
    return chosen


def machine_rates(
    model_name: str,
    load: Callable[[str], object],
    *,
    models_dir: str | Path | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[dict[str, float], str]:
    """This machine's rates and where they came from ("cached", "calibrated" or "rule").

    `load(backend)` returns a loaded embedder; a backend that cannot load (torch not
    installed) is left out of the calibration.
    """
    file = cache_file(models_dir)
    key = machine_key(model_name)
    cached = cached_rates(key, file)
    if cached is not None:
        return cached, "cached"
    if file is None:
        return rule_rates(), "rule"
    log.info("timing the embedding backends once for this CPU (%s)...", cpu_model())
    embedders = {}
    for backend in candidates(None):
        try:
            embedders[backend] = load(backend)
        except Exception as exc:  # noqa: BLE001 - a backend that cannot run here is no candidate
            log.info("backend %s left out of the calibration: %s", backend, exc)
    if "torch" not in embedders or len(embedders) < 2:
        return rule_rates(), "rule"
    rates = calibrate(embedders, clock=clock)
    store_rates(key, file, rates)
    log.info("backend rates here (passages/s): %s; cached in %s", rates, file)
    return rates, "calibrated"
