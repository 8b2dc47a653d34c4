"""Full-integer post-training quantization (PTQ), optionally with named layers kept in float.

Selective quantization follows TensorFlow's "Inspecting quantization errors with the quantization
debugger" guide: ``QuantizationDebugOptions(denylisted_nodes=...)`` quantizes everything but the
nodes of the named Keras layers; ``export.quant_debug.rank_layers`` finds the candidates.
"""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf
from tensorflow.lite.python import util as tflite_util

from export.converters import Representative, check_io_dtype, debug_converter, integer_converter
from export.runtime import load_interpreter
from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras


def convert_int8_ptq(model: keras.Model, representative: Representative, io_dtype: str = "uint8",
                     float_layers: Sequence[str] = ()) -> bytes:
    """Full-integer PTQ; ``representative()`` yields float32 [1, h, w, 3] batches in [0, 1] (for a
    model with several inputs, a list of such batches in ``model.inputs`` order).

    ``float_layers``: Keras layer names kept in float (``convert_selective_ptq``).
    """
    if float_layers:
        return convert_selective_ptq(model, representative, float_layers, io_dtype)
    c = integer_converter(model, io_dtype)
    # Integer-only kernels: conversion fails rather than leave a float op behind. (Not for QAT models:
    # TF 2.21 then demands a representative dataset that a QAT graph does not need.)
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.representative_dataset = lambda: (list(x) if isinstance(x, (list, tuple)) else [x] for x in representative())
    return c.convert()


def keras_layers_of(tensor_name: str, layer_names: set[str]) -> list[str]:
    """Keras layers named in a TFLite tensor name (``model/layer/Op;model/layer2/Op2`` after fusion)."""
    found = []
    for part in tensor_name.split(";"):
        bits = part.split("/")
        for b in bits[1:2]:
            if b in layer_names and b not in found:
                found.append(b)
    return found


def denylisted_nodes_for(debugger, model: keras.Model, float_layers: Sequence[str]) -> list[str]:
    """The op output tensor names (the debugger's node names) that belong to ``float_layers``, read
    from the calibrated float model (no debug run needed)."""
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


def convert_selective_ptq(model: keras.Model, representative: Representative,
                          float_layers: Sequence[str], io_dtype: str = "uint8") -> bytes:
    """Full-int8 PTQ except ``float_layers`` (Keras layer names), with an ``io_dtype`` interface."""
    dtype = check_io_dtype(io_dtype)
    xs = list(representative())
    gen = lambda: iter(xs)  # noqa: E731
    debugger = tf.lite.experimental.QuantizationDebugger(converter=debug_converter(model, gen),
                                                         debug_dataset=lambda: ([x] for x in gen()))
    nodes = denylisted_nodes_for(debugger, model, float_layers)
    debugger.options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=nodes)
    blob = debugger.get_nondebug_quantized_model()  # float interface, QUANTIZE/DEQUANTIZE at the edges
    # The same interface rewrite TFLiteConverter applies for inference_input_type/inference_output_type.
    return bytes(tflite_util.modify_model_io_type(blob, dtype, dtype))
