"""What a ``.tflite`` actually runs: a histogram of ops, int8 coverage, GPU-delegate warnings.

Ops are listed with the delegates off (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``) so XNNPACK's fused
partitions do not hide the real builtin ops.
"""
from __future__ import annotations

import collections
import os
from pathlib import Path
from typing import Any

import numpy as np

from keras_depth.runtime.tflite import load_interpreter

# Builtin ops the TFLite GPU delegate documents as supported ("Supported ops" in the LiteRT/TFLite
# GPU delegate guide, tensorflow.org/lite/performance/gpu, and the op list that
# tensorflow/lite/delegates/gpu/common/model_builder.cc parses). QUANTIZE/DEQUANTIZE are accepted
# because the delegate runs 8-bit models by dequantizing their weights and edges (the guide's
# "Quantized models" section). Anything else is reported as a candidate to fall back to the CPU.
GPU_SUPPORTED_OPS = frozenset({
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEQUANTIZE", "EXP",
    "FULLY_CONNECTED", "HARD_SWISH", "LOGICAL_AND", "LOGISTIC", "LSTM", "MAX_POOL_2D", "MAXIMUM",
    "MEAN", "MINIMUM", "MUL", "PAD", "PRELU", "QUANTIZE", "RELU", "RELU6", "RESHAPE",
    "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "SOFTMAX", "STRIDED_SLICE", "SUB", "TANH",
    "TRANSPOSE_CONV",
})
# Ops that move or convert data rather than compute; left out of the int8-coverage denominator.
_DATA_OPS = frozenset({"QUANTIZE", "DEQUANTIZE", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CAST"})
_INT = ("int8", "uint8", "int16", "int32")


def op_report(model: str | os.PathLike | bytes) -> dict[str, Any]:
    """``{"ops": {name: count}, "compute_ops", "int8_ops", "int8_coverage", "float_ops": [...],
    "gpu_unsupported": {name: count}, "warnings": [...]}`` for one ``.tflite`` (path or bytes)."""
    it = load_interpreter(model if isinstance(model, (bytes, bytearray)) else Path(model), num_threads=1, delegates=False)
    dtypes = {t["index"]: np.dtype(t["dtype"]).name for t in it.get_tensor_details()}
    hist: collections.Counter = collections.Counter()
    compute, int8, float_ops = 0, 0, []
    for op in it._get_ops_details():  # the public API lists tensors, not ops (TF issue #37224)
        name = op["op_name"]
        hist[name] += 1
        if name in _DATA_OPS:
            continue
        compute += 1
        # Activations only: int32 biases ride along with int8 convs, so only the first input and outputs count.
        acts = [dtypes.get(i) for i in list(op["inputs"][:1]) + list(op["outputs"]) if i >= 0]
        if acts and all(d in ("int8", "uint8") for d in acts):
            int8 += 1
        else:
            float_ops.append(f"{name}#{op['index']}")
    gpu_bad = {k: v for k, v in sorted(hist.items()) if k not in GPU_SUPPORTED_OPS}
    warnings = [f"{k} x{v} is not in the GPU delegate's supported-op list: it will run on the CPU (a graph split)"
                for k, v in gpu_bad.items()]
    return {
        "ops": dict(sorted(hist.items(), key=lambda kv: (-kv[1], kv[0]))),
        "compute_ops": compute,
        "int8_ops": int8,
        "int8_coverage": int8 / compute if compute else 0.0,
        "float_ops": float_ops,
        "gpu_unsupported": gpu_bad,
        "warnings": warnings,
    }


def format_op_report(name: str, report: dict[str, Any]) -> str:
    ops = ", ".join(f"{k} {v}" for k, v in report["ops"].items())
    lines = [f"{name}: int8 coverage {report['int8_coverage'] * 100:.0f}% "
             f"({report['int8_ops']}/{report['compute_ops']} compute ops); ops: {ops}"]
    lines += [f"  warning: {w}" for w in report["warnings"]]
    return "\n".join(lines)
