"""Exporting a sentence-transformers model to ONNX, once: the graph (eager attention), its
transformer fusions, and its int8 quantisation (the recipe in INT8_RECIPE).

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
from typing import Any

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


# The int8 recipe. int8 vectors of two recipes differ (cosine ~0.994 between them), so the
# recipe names the cached file and is recorded in the archive beside the backend, and an archive
# made by another recipe is refused rather than mixed (archive/model_identity.py).
# split-v1: dynamic int8 (s8 per-channel weights, u8 per-tensor activations) of the weight
# MatMuls and the fused Attention's QKV projection, with each MatMul's outlier input channels
# computed apart in fp32; the embeddings stay fp32 (bench/README.md, "int8 at fp32 quality").
INT8_RECIPE = "split-v1"
# What archives made before recipes were recorded hold: everything quantised, embeddings too.
LEGACY_INT8_RECIPE = "dynamic-v0"
OUTLIER_RATIO = 4.0  # an input channel is an outlier past this x the median channel's max |x|
OUTLIER_MAX = 8  # at most this many per MatMul
# Calibration text for the outlier channels. They are a property of the model (the same few
# channels of every layer norm and GELU output whatever the text), so a dozen generic news
# sentences find them, and nothing has to be read from the user's data.
CALIBRATION_TEXTS = (
    "The central bank left its benchmark interest rate unchanged on Thursday, saying growth had "
    "slowed in the second quarter while food and energy prices kept rising.",
    "Shares in the country's largest carmaker fell 4% after it warned that profits would be "
    "lower this year because of weak demand in Europe and rising costs for steel.",
    "The striker scored twice in the second half as the home side came from behind to win 3-2 "
    "and move into second place in the league, a point behind the leaders.",
    "Ministers will publish plans next week to cut waiting times in hospitals, after a report "
    "found that one patient in five waited more than four hours in emergency departments.",
    "The film, a low-budget drama about a family of farmers, won the festival's top prize on "
    "Saturday, and its director said she hoped it would reach a wider audience.",
    "Wheat exports rose to 2.3 million tonnes in March from 1.8 million a year earlier, the "
    "agriculture department said, citing strong demand from buyers in North Africa.",
    "Rebel forces shelled the outskirts of the capital overnight, killing at least 12 people, "
    "and the government said talks due to begin in Geneva on Monday had been postponed.",
    "The software company agreed to buy a smaller rival for $1.2 billion in cash, its largest "
    "acquisition so far, to expand its business selling security tools to banks.",
    "Oil prices climbed above $30 a barrel after producers agreed to extend output cuts, while "
    "analysts warned that stocks held in the United States remained high.",
    "A new vaccine cut infections by more than half in a trial of 4,000 children, researchers "
    "reported, although they said larger studies were needed before it could be approved.",
    "The opposition leader called for an inquiry into the sale of the state telephone company, "
    "saying the price paid by the consortium had been far below its value.",
    "Heavy snow closed schools and roads across the north of the country, and forecasters said "
    "temperatures would stay below freezing until the end of the week.",
)


def _weight_matmuls(graph) -> list:
    """MatMul nodes whose second input is a 2-D weight initializer."""
    weights = {i.name for i in graph.initializer if len(i.dims) == 2}
    return [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]


def _input_ranges(model, names: list[str], feeds: list[dict]) -> dict[str, np.ndarray]:
    """Per-channel max |x| of the named tensors, running the fp32 graph on `feeds`."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    present = {o.name for o in probe.graph.output}
    for name in names:
        if name not in present:
            probe.graph.output.append(
                onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
            )
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    inputs = {i.name for i in session.get_inputs()}
    ranges: dict[str, np.ndarray] = {}
    for feed in feeds:
        outputs = session.run(names, {k: v for k, v in feed.items() if k in inputs})
        for name, value in zip(names, outputs, strict=True):
            value = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0)
            ranges[name] = np.maximum(ranges.get(name, 0), value)
    return ranges


def split_outliers(model, feeds: list[dict]) -> list[str]:
    """Compute each weight MatMul's outlier input channels apart, in fp32.

    Transformer layer-norm and GELU outputs carry a few channels ~10-20x larger than the rest
    (in all-MiniLM-L6-v2, one channel of ~20-30 in every FFN input where the median channel
    stays under 2). Dynamic quantisation gives a whole activation one int8 scale, which those
    channels would take. Here such channels (calibrated max |x| above OUTLIER_RATIO x the
    median, at most OUTLIER_MAX) are zeroed in the MatMul's input and multiplied with their
    weight rows by a small separate MatMul, added back, so the quantised MatMul sees a range
    several times narrower (LLM.int8()'s decomposition, with the channels chosen once). Edits
    `model` in place; returns the names of the small MatMuls, to keep in fp32.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    matmuls = _weight_matmuls(graph)
    ranges = _input_ranges(model, list(dict.fromkeys(n.input[0] for n in matmuls)), feeds)
    initializers = {i.name: i for i in graph.initializer}
    replaced: dict[int, tuple[list, Any]] = {}
    kept = []
    for number, node in enumerate(matmuls):
        amax = ranges[node.input[0]]
        order = np.argsort(-amax)
        outliers = [
            int(c) for c in order[:OUTLIER_MAX] if amax[c] > OUTLIER_RATIO * np.median(amax)
        ]
        if not outliers:
            continue
        weight = numpy_helper.to_array(initializers[node.input[1]])
        base = f"int8split_{number}"
        mask = np.ones(len(amax), dtype=np.float32)
        mask[outliers] = 0
        graph.initializer.extend(
            [
                numpy_helper.from_array(mask, f"{base}_mask"),
                numpy_helper.from_array(np.array(outliers, dtype=np.int64), f"{base}_idx"),
                numpy_helper.from_array(np.ascontiguousarray(weight[outliers]), f"{base}_w"),
            ]
        )
        x, out = node.input[0], node.output[0]
        before = [
            helper.make_node("Mul", [x, f"{base}_mask"], [f"{base}_x"], name=f"{base}_mul"),
            helper.make_node(
                "Gather", [x, f"{base}_idx"], [f"{base}_ox"], name=f"{base}_gather", axis=-1
            ),
            helper.make_node(
                "MatMul", [f"{base}_ox", f"{base}_w"], [f"{base}_oy"], name=f"{base}_fp32"
            ),
        ]
        add = helper.make_node("Add", [f"{base}_y", f"{base}_oy"], [out], name=f"{base}_add")
        node.input[0] = f"{base}_x"
        node.output[0] = f"{base}_y"
        replaced[id(node)] = (before, add)
        kept.append(f"{base}_fp32")
    nodes = []
    for node in graph.node:
        before, add = replaced.get(id(node), ([], None))
        nodes += before + [node] + ([add] if add is not None else [])
    del graph.node[:]
    graph.node.extend(nodes)
    return kept


def quantize_int8(source: Path, target: Path, feeds: list[dict] | None = None) -> None:
    """int8 weights and activations for the weight MatMuls (dynamic, s8 per-channel weights).

    With calibration `feeds`, the INT8_RECIPE: outlier channels split off in fp32 and the
    embeddings left in fp32. Without, the LEGACY_INT8_RECIPE (every MatMul, the Attention and
    the embeddings quantised), kept for bench/int8_variants.py.
    """
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic advises pre-processing on the root logger
    try:
        with _work_folder(target) as work:
            tmp = work / target.name
            options: dict[str, Any] = {}
            if feeds:
                model = onnx.load(str(source))
                keep = split_outliers(model, feeds)
                split = work / "split.onnx"
                onnx.save(model, str(split))
                source = split
                options = {
                    "op_types_to_quantize": ["MatMul", "Attention"],
                    "nodes_to_exclude": keep,
                }
            quantize_dynamic(
                str(source),
                str(tmp),
                per_channel=True,
                weight_type=QuantType.QInt8,
                use_external_data_format=False,
                # fused ops are outside shape inference; their outputs are float
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
                **options,
            )
            os.replace(tmp, target)
    finally:
        root.setLevel(level)
