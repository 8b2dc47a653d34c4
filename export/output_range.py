"""The quantized range of a model's depth output, and what one output level is worth in depth.

An int8/uint8 output is ``real = scale * (q - zero_point)``. Left to calibration, its range is what
the calibration images happened to produce (PTQ: up to 5.6 m on the quickstart, clipping deeper
pixels), or tfmot's initial [-6, 6] barely moved by a short QAT run (half the levels on negative
depths). Both exports pin it instead to the spec's output range (``export.ptq``,
``keras_depth.training.qat``).

TFLite keeps real 0 exactly representable (the zero point is one of the integer levels), so a range
[lo, hi] with 0 < lo quantizes as [0, hi]: ``keras_depth.spec.pinned_range``. For the quickstart's 0.25-10 m that
spends lo / hi = 2.5 % of the levels below the valid range; a log-depth range (ln 0.25 .. ln 10)
holds 0 and uses them all.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

# (qmin, qmax) of each integer output dtype
LEVELS = {"uint8": (0, 255), "int8": (-128, 127), "int16": (-32768, 32767)}


def nudged_quantization(lo: float, hi: float, dtype: str = "uint8") -> tuple[float, int]:
    """(scale, zero_point) of [lo, hi] over ``dtype``'s levels as TFLite's quantizer makes them:
    asymmetric for 8 bits (the zero point rounded onto a level, which may shift the ends by half a
    step), symmetric with zero point 0 for int16 (16x8 mode)."""
    qmin, qmax = LEVELS[dtype]
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if dtype == "int16":
        return max(-lo, hi) / qmax, 0
    scale = (hi - lo) / (qmax - qmin)
    zp = int(round(qmin - lo / scale))
    return scale, int(min(max(zp, qmin), qmax))


def covered_range(scale: float, zero_point: int, dtype: str) -> tuple[float, float]:
    """The real values of the lowest and highest level."""
    qmin, qmax = LEVELS[dtype]
    return scale * (qmin - zero_point), scale * (qmax - zero_point)


def levels_report(scale: float, zero_point: int, dtype: str, output_range: Sequence[float]) -> dict:
    """Where the output's levels go: how many fall outside the valid [lo, hi] (wasted), and how much of
    [lo, hi] lies beyond the covered range (clipped), in output units."""
    lo, hi = (float(v) for v in output_range)
    qmin, qmax = LEVELS[dtype]
    reals = scale * (np.arange(qmin, qmax + 1, dtype=np.float64) - zero_point)
    first, last = covered_range(scale, zero_point, dtype)
    return {
        "scale": float(scale), "zero_point": int(zero_point), "dtype": dtype, "covered": [first, last],
        "levels": int(qmax - qmin + 1),
        "levels_outside": int(np.sum((reals < lo - scale / 2) | (reals > hi + scale / 2))),
        "clipped_below": max(0.0, first - lo), "clipped_above": max(0.0, hi - last),
    }


def depth_step(kind: str, scale: float, depth: float) -> float:
    """The depth change of one output level at ``depth`` (m): the output step times |d depth / d output|:
    ``scale`` for depth, ``depth^2 * scale`` for disparity (depth = 1/u), ``depth * scale`` for log depth."""
    if kind == "depth":
        return scale
    if kind == "disparity":
        return depth * depth * scale
    if kind == "log_depth":
        return depth * scale
    raise ValueError(f"depth_step: unknown output kind {kind!r}")



STEP_DEPTHS = (0.5, 1.0, 2.0, 5.0)  # m: where the depth step is reported (issue 17)


def output_tensor_quantization(tflite: bytes) -> tuple[str, float, int]:
    """(dtype, scale, zero_point) of the model's integer output tensor: the output itself, or, for a
    float32 output dequantized inside the graph (int8_float_out, int16x8), the DEQUANTIZE's input.
    ("float32", 0.0, 0) when the output is computed in float."""
    from keras_depth.runtime.tflite import load_interpreter

    it = load_interpreter(tflite, num_threads=1, delegates=False)
    details = {t["index"]: t for t in it.get_tensor_details()}
    idx = it.get_output_details()[0]["index"]
    producer = {o: op for op in it._get_ops_details() for o in op["outputs"]}
    op = producer.get(idx)
    if np.dtype(details[idx]["dtype"]).kind == "f" and op is not None and op["op_name"] == "DEQUANTIZE":
        idx = op["inputs"][0]
    t = details[idx]
    dtype = np.dtype(t["dtype"]).name
    if dtype not in LEVELS:
        return "float32", 0.0, 0
    scale, zp = t["quantization"]
    return dtype, float(scale), int(zp)


def output_quantization(tflite: bytes, spec) -> dict:
    """The output's quantization against ``spec`` (a DepthSpec): ``levels_report`` plus the depth step
    (m) at ``STEP_DEPTHS``; for a float output, just its dtype."""
    dtype, scale, zp = output_tensor_quantization(tflite)
    if dtype == "float32":
        return {"dtype": dtype}
    report = levels_report(scale, zp, dtype, spec.output_range)
    report["depth_step_m"] = {str(d): depth_step(spec.kind, scale, d) for d in STEP_DEPTHS}
    return report
