"""Parity: an exported model against the Keras model it was converted from, within a documented
tolerance per variant (docs/export.md "Parity thresholds")."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from keras_depth.kerasapi import keras
from keras_depth.runtime.manifest import Manifest
from keras_depth.runtime.saved_model import saved_model_predict
from keras_depth.runtime.tflite import TFLiteDepthEstimator
from keras_depth.spec import DepthSpec

# Parity thresholds, as fractions of the output range (hi - lo), against the Keras model the
# variant was converted from, on calibration-set images (docs/export.md explains them):
#  - saved_model and float32 are the same arithmetic in another runtime: float rounding only.
#  - float16 rounds every weight to 11 significant bits (relative error <= 2^-11 per weight).
#  - int8_dynamic quantizes weights per channel and activations per inference (per tensor, on the fly).
#  - int8_qat runs the fake-quant graph for real: it differs by rounding at a few requantizations.
#  - int8_ptq is compared with the float model, so it carries the whole quantization error;
#    int8_float_out is the same body (its output dequantized in the graph instead of by the runtime).
#  - int16x8 keeps 16-bit activations: its error is mostly the int8 weights'.
PARITY_TOLERANCE = {
    "saved_model": {"max_abs": 1e-5, "mean_abs": 1e-6},
    "float32": {"max_abs": 1e-4, "mean_abs": 1e-5},
    "float16": {"max_abs": 0.02, "mean_abs": 0.002},
    "int8_dynamic": {"max_abs": 0.25, "mean_abs": 0.03},
    "int8_qat": {"max_abs": 0.10, "mean_abs": 0.01},
    "int8_ptq": {"max_abs": 0.25, "mean_abs": 0.03},
    "int8_float_out": {"max_abs": 0.25, "mean_abs": 0.03},
    "int16x8": {"max_abs": 0.10, "mean_abs": 0.01},
}
# The figures of a parity result that the manifest and export_report.json record.
SUMMARY_KEYS = ("max_abs", "mean_abs", "max_frac", "mean_frac", "ok")


def check_parity(reference: Callable[[np.ndarray], np.ndarray] | keras.Model, model: Path | bytes, xs: np.ndarray,
                 variant: str, spec: DepthSpec, manifest: Optional[Manifest] = None) -> dict:
    """Max and mean |exported - Keras| on ``xs`` (float [N, h, w, 3] in [0, 1]), absolute and as a
    fraction of the output range, with the verdict against ``PARITY_TOLERANCE``.

    ``model``: a ``.tflite`` (path or bytes; run through the manifest like a phone would) or, for
    ``saved_model``, the SavedModel folder. ``reference``: a Keras model or a function like it."""
    want = reference(xs) if not isinstance(reference, keras.Model) else reference.predict(xs, verbose=0)
    want = np.asarray(want)[..., 0] if np.ndim(want) == 4 else np.asarray(want)
    if variant == "saved_model":
        got = saved_model_predict(Path(model))(xs)
    else:
        est = TFLiteDepthEstimator(model, manifest=manifest, num_threads=2)
        got = np.stack([est.run_tensor(est.preprocess(np.round(x * 255).astype(np.uint8))) for x in xs])
    lo, hi = spec.output_range
    err = np.abs(got - want)
    res = {"max_abs": float(err.max()), "mean_abs": float(err.mean())}
    res["max_frac"] = res["max_abs"] / (hi - lo)
    res["mean_frac"] = res["mean_abs"] / (hi - lo)
    tol = PARITY_TOLERANCE[variant]
    res["tolerance"] = tol
    res["ok"] = bool(res["max_frac"] <= tol["max_abs"] and res["mean_frac"] <= tol["mean_abs"])
    return res


def parity_summary(parity: dict) -> dict:
    return {k: parity[k] for k in SUMMARY_KEYS}
