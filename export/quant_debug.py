"""Rank layers by int8 quantization error, to choose which to keep in float.

Follows TensorFlow's "Inspecting quantization errors with the quantization debugger" guide:
``tf.lite.experimental.QuantizationDebugger`` runs the float and int8 graphs side by side and reports,
per quantized tensor, the error of its int8 value against the float one; ``rmse/scale`` (the RMS
error in units of the tensor's quantization step) ranks layers comparably. A layer well above ~0.3
steps is a candidate to keep in float: ``export.float_layers`` for PTQ (``export.ptq``), and
``qat.float_layers`` for QAT (``keras_depth.training.qat.make_qat_model(model, float_layers)``; its
``int8_qat`` file comes through the same denylist, applied to the QAT-fine-tuned weights).
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import tensorflow as tf

from export.converters import debug_converter
from export.ptq import keras_layers_of
from keras_depth.io import atomic_write_text
from keras_depth.kerasapi import keras


def rank_layers(model: keras.Model, calib: np.ndarray, limit: int = 16) -> list[dict]:
    """Quantized tensors sorted by ``rmse/scale`` (worst first), each with the Keras layers it fuses.

    ``calib``: float [N, h, w, 3] in [0, 1]; ``limit`` images are used (the debugger runs both graphs)."""
    xs = calib[:limit]
    gen = lambda: (x[None] for x in xs)  # noqa: E731
    debugger = tf.lite.experimental.QuantizationDebugger(converter=debug_converter(model, gen),
                                                         debug_dataset=lambda: ([x] for x in gen()))
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
