"""Exporting a sentence-transformers model to ONNX, once: the graph (eager attention), its
transformer fusions, and its int8 quantisation.

Needs torch and transformers, which is why it runs once per model and export version and is
cached (onnxrt.py decides where). Every temporary file of an export (the graph before fusion,
the fused graph, onnxruntime's own temporary folders) is kept in a work folder named after the
process, `export.tmp<pid>`, beside the target, and removed when the export ends; a process
killed mid-export leaves it behind, and `remove_stale_exports` (run when an onnx embedder is
made, and when an archive is opened) removes those of processes that no longer run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

# Bump when the export or quantisation changes, so cached files from older code are not reused.
# v2: eager attention exported and fused by onnxruntime's transformer optimizer.
EXPORT_VERSION = "2"
# Architectures whose graphs onnxruntime's BERT fusions understand; others stay unfused.
FUSABLE = ("bert", "roberta", "xlm-roberta", "distilbert", "electra", "camembert")


_TMP_RE = re.compile(r"\.tmp(\d+)")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True


def remove_stale_exports(cache_dir: Path) -> list[Path]:
    """Remove the temporary files and folders that killed exports left in `cache_dir` (those
    of processes no longer running); returns what was removed."""
    removed: list[Path] = []
    try:
        candidates = list(Path(cache_dir).glob("*/*.tmp*"))
    except OSError:
        return removed
    for path in candidates:
        match = _TMP_RE.search(path.name)
        if match is None or _alive(int(match.group(1))):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextmanager
def _work_folder(target: Path) -> Iterator[Path]:
    """A folder for one export's temporary files, also used as `tempfile`'s folder meanwhile
    (onnxruntime's optimiser and quantiser write theirs there), removed at the end."""
    work = target.parent / f"export.tmp{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    previous = tempfile.tempdir
    tempfile.tempdir = str(work)
    try:
        yield work
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(work, ignore_errors=True)


def export_onnx(
    model_path: Path, target: Path, *, attention: str = "eager", fuse: bool = True
) -> None:
    """Export the transformer (token ids in, last hidden state out) with dynamic shapes.

    Needs torch and transformers, which is why this runs once and is cached. `attention` and
    `fuse` exist for bench/export_variants.py; the backend always uses the defaults.
    """
    import warnings

    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()

    class LastHidden(torch.nn.Module):
        """Keyword arguments in, one tensor out: forward() signatures vary across releases."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            output = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return output.last_hidden_state

    # Eager attention exports as plain MatMul/Softmax, a pattern onnxruntime fuses into one
    # Attention kernel; the SDPA default exports as a graph it does not, and encoded 13-17%
    # slower over two runs of bench/export_variants.py (27.1-28.5 vs 31.2-34.3 passages/s).
    try:
        inner = AutoModel.from_pretrained(
            str(model_path), local_files_only=True, attn_implementation=attention
        )
    except (TypeError, ValueError):
        inner = AutoModel.from_pretrained(str(model_path), local_files_only=True)
    model = LastHidden(inner)
    model.eval()
    sample = {
        "input_ids": torch.ones((2, 8), dtype=torch.int64),
        "attention_mask": torch.ones((2, 8), dtype=torch.int64),
        "token_type_ids": torch.zeros((2, 8), dtype=torch.int64),
    }
    names = list(sample)
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    target.parent.mkdir(parents=True, exist_ok=True)
    with _work_folder(target) as work:
        tmp = work / "model.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about shape-dependent branches
            torch.onnx.export(
                model,
                (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                str(tmp),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        if fuse:
            fuse_graph(tmp, model_path)
        os.replace(tmp, target)


def fuse_graph(path: Path, model_path: Path) -> bool:
    """Rewrite an exported graph in place with onnxruntime's transformer fusions, if that is safe.

    onnxruntime fuses much of this itself when it loads a plain graph, so the offline pass adds
    3-12% for fp32 and 3-6% for int8, which is quantised from this graph (two runs of
    bench/export_variants.py). The fused graph is kept only if its
    output matches the plain one on a padded sample batch; otherwise the plain export stays.
    """
    config_file = model_path / "config.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else {}
    if config.get("model_type") not in FUSABLE:
        return False
    import logging

    from onnxruntime.transformers.optimizer import optimize_model

    fused = path.with_name(path.name + ".fused")
    logger = logging.getLogger("onnxruntime.transformers")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        optimized = optimize_model(
            str(path),
            model_type="bert",
            num_heads=int(config.get("num_attention_heads", 0)),
            hidden_size=int(config.get("hidden_size", 0)),
            opt_level=1,
        )
        optimized.save_model_to_file(str(fused))
        if not _same_outputs(path, fused):
            return False
        os.replace(fused, path)
        return True
    except Exception:  # an unusual graph: the plain export is correct, only slower
        return False
    finally:
        logger.setLevel(level)
        fused.unlink(missing_ok=True)


def _same_outputs(plain: Path, fused: Path) -> bool:
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 2000, size=(3, 40), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 25:] = 0  # padding, the case a fused attention most easily gets wrong
    mask[2, 9:] = 0
    outputs = []
    for file in (plain, fused):
        session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, {k: v for k, v in feed.items() if k in names})[0]
        outputs.append(hidden * mask[:, :, None])
    return bool(np.abs(outputs[0] - outputs[1]).max() < 1e-4)


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the weights, per channel (keeps cosine ~0.99 to fp32)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic advises pre-processing on the root logger
    try:
        with _work_folder(target) as work:
            tmp = work / target.name
            quantize_dynamic(
                str(source),
                str(tmp),
                per_channel=True,
                weight_type=QuantType.QInt8,
                use_external_data_format=False,
                # fused ops are outside shape inference; their outputs are float
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
            os.replace(tmp, target)
    finally:
        root.setLevel(level)
