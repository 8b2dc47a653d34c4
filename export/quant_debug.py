"""Selective quantization: rank layers by int8 error, keep the worst in float.

Follows TensorFlow's "Inspecting quantization errors with the quantization debugger" guide:
``tf.lite.experimental.QuantizationDebugger`` runs the float and int8 graphs side by side and reports,
per quantized tensor, the error of its int8 value against the float one; ``rmse/scale`` (the RMS
error in units of the tensor's quantization step) ranks layers comparably. A layer well above ~0.3
steps is a candidate to keep in float. ``QuantizationDebugOptions(denylisted_nodes=...)`` then
quantizes everything but those nodes. For QAT the same names go to ``qat.float_layers``
(``export.qat.make_qat_model(model, float_layers)``); its ``int8_qat`` file comes through this same
denylist, applied to the QAT-fine-tuned weights (``export.qat.convert_selective_qat``).
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import tensorflow as tf

from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_text
from keras_depth.kerasapi import keras


def _converter(model: keras.Model, representative: Callable[[], Iterable[np.ndarray]]) -> tf.lite.TFLiteConverter:
    from export.convert import static_converter

    c = static_converter(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = lambda: ([x] for x in representative())
    return c


def keras_layers_of(tensor_name: str, layer_names: set[str]) -> list[str]:
    """Keras layers named in a TFLite tensor name (``model/layer/Op;model/layer2/Op2`` after fusion)."""
    found = []
    for part in tensor_name.split(";"):
        bits = part.split("/")
        for b in bits[1:2]:
            if b in layer_names and b not in found:
                found.append(b)
    return found


def rank_layers(model: keras.Model, calib: np.ndarray, limit: int = 16) -> list[dict]:
    """Quantized tensors sorted by ``rmse/scale`` (worst first), each with the Keras layers it fuses.

    ``calib``: float [N, h, w, 3] in [0, 1]; ``limit`` images are used (the debugger runs both graphs)."""
    xs = calib[:limit]
    gen = lambda: (x[None] for x in xs)  # noqa: E731
    debugger = tf.lite.experimental.QuantizationDebugger(converter=_converter(model, gen), debug_dataset=lambda: ([x] for x in gen()))
    debugger.run()
    buf = io.StringIO()
    debugger.layer_statistics_dump(buf)
    names = {l.name for l in model.layers}
    rows = []
    for r in csv.DictReader(io.StringIO(buf.getvalue())):
        scale = float(r["scale"])
        mse = float(r["mean_squared_error"])
        rows.append({"tensor_name": r["tensor_name"], "op_name": r["op_name"], "layers": keras_layers_of(r["tensor_name"], names),
                     "rmse/scale": float(np.sqrt(mse) / scale) if scale > 0 else float("nan"),
                     "max_abs_error": float(r["max_abs_error"]), "mean_error": float(r["mean_error"]), "scale": scale})
    rows.sort(key=lambda r: -np.nan_to_num(r["rmse/scale"], nan=-1.0))
    return rows


def write_ranking(rows: Sequence[dict], out_dir: Path, top: int = 20) -> Path:
    """``quant_debug.json`` (all rows) and ``quant_debug.md`` (the ``top`` worst) in ``out_dir``."""
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "quant_debug.json", json.dumps(list(rows), indent=2))
    md = ["# Layers ranked by int8 quantization error (QuantizationDebugger)", "",
          "rmse/scale: RMS error of the int8 tensor against float, in quantization steps (0.29 = ideal rounding).",
          "Keep a layer in float with `--float-layers NAME` (PTQ) or `qat.float_layers` (QAT).", "",
          "| rank | Keras layers | op | rmse/scale | max abs error |", "|---|---|---|---|---|"]
    md += [f"| {i + 1} | {', '.join(r['layers']) or r['tensor_name'][:40]} | {r['op_name']} | {r['rmse/scale']:.3f} | {r['max_abs_error']:.4g} |"
           for i, r in enumerate(rows[:top])]
    atomic_write_text(out_dir / "quant_debug.md", "\n".join(md) + "\n")
    return out_dir / "quant_debug.md"


def denylisted_nodes_for(debugger, model: keras.Model, float_layers: Sequence[str]) -> list[str]:
    """The op output tensor names (the debugger's node names) that belong to ``float_layers``, read
    from the calibrated float model (no debug run needed)."""
    from export.runtime import load_interpreter

    names = {l.name for l in model.layers}
    # quantize_apply renames every layer it wraps (annotated or not) to quant_<name>
    keep = {n if n in names else f"quant_{n}" for n in float_layers}
    missing = sorted(n for n in float_layers if n not in names and f"quant_{n}" not in names)
    if missing:
        raise UsageError(f"export.float_layers: no layer named {missing} in model {model.name!r}")
    it = load_interpreter(debugger.calibrated_model, num_threads=1, delegates=False)
    tensor_names = {t["index"]: t["name"] for t in it.get_tensor_details()}
    nodes = [tensor_names[o] for op in it._get_ops_details() for o in op["outputs"]
             if o >= 0 and keep & set(keras_layers_of(tensor_names[o], names))]
    if not nodes:
        raise UsageError(f"export.float_layers: {sorted(keep)} match no quantized op (activations and BN are fused "
                         "into the conv before them; name the conv, e.g. from `keras-depth export --rank-layers`)")
    return nodes


def convert_selective_ptq(model: keras.Model, representative: Callable[[], Iterable[np.ndarray]],
                          float_layers: Sequence[str], io_dtype: str = "uint8") -> bytes:
    """Full-int8 PTQ except ``float_layers`` (Keras layer names), with an ``io_dtype`` interface."""
    from tensorflow.lite.python import util as tflite_util

    from export.convert import IO_DTYPES

    if io_dtype not in IO_DTYPES:
        raise UsageError(f"export.io_dtype: expected one of {sorted(IO_DTYPES)}, got {io_dtype!r}")
    xs = list(representative())
    gen = lambda: iter(xs)  # noqa: E731
    debugger = tf.lite.experimental.QuantizationDebugger(converter=_converter(model, gen), debug_dataset=lambda: ([x] for x in gen()))
    nodes = denylisted_nodes_for(debugger, model, float_layers)
    debugger.options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=nodes)
    blob = debugger.get_nondebug_quantized_model()  # float interface, QUANTIZE/DEQUANTIZE at the edges
    # The same interface rewrite TFLiteConverter applies for inference_input_type/inference_output_type.
    return bytes(tflite_util.modify_model_io_type(blob, IO_DTYPES[io_dtype], IO_DTYPES[io_dtype]))

