"""Full-integer post-training quantization (PTQ), optionally with named layers kept in float.

Selective quantization follows TensorFlow's "Inspecting quantization errors with the quantization
debugger" guide: ``QuantizationDebugOptions(denylisted_nodes=...)`` quantizes everything but the
nodes of the named Keras layers; ``export.quant_debug.rank_layers`` finds the candidates.

Calibrate, pin, quantize: the converter's calibration records each tensor's [min, max]; the output's is
then set to the spec's output range (``pin_output_range``, ``export.output_range``) before the
quantizer reads them, so the output's levels cover exactly the range the model can produce.
"""
from __future__ import annotations

from typing import Optional, Sequence

import tensorflow as tf
from tensorflow.lite.python import util as tflite_util

from export.converters import Representative, check_io_dtype, integer_converter, static_converter
from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras
from keras_depth.runtime.tflite import load_interpreter
from keras_depth.spec import pinned_range


ACTIVATIONS = ("int8", "int16")


def convert_int8_ptq(model: keras.Model, representative: Representative, io_dtype: str = "uint8",
                     float_layers: Sequence[str] = (), output_range: Optional[Sequence[float]] = None,
                     activations: str = "int8", output_dtype: Optional[str] = None) -> bytes:
    """Full-integer PTQ; ``representative()`` yields float32 [1, h, w, 3] batches in [0, 1] (for a
    model with several inputs, a list of such batches in ``model.inputs`` order).

    ``float_layers``: Keras layer names kept in float (``convert_selective_ptq``).
    ``output_range``: the raw output range (``DepthSpec.output_range``) the output is quantized over
    (``pinned_range``), instead of the range the calibration images reach (``pin_output_range``).
    ``activations``: ``int8``, or ``int16`` for TFLite's 16x8 mode (int16 activations, int8 weights;
    its interface is int16, or float32 when ``io_dtype`` is float32).
    ``output_dtype``: the output's interface dtype when it differs from the input's (``float32``: an
    int8 body whose output is dequantized inside the graph).
    """
    if activations not in ACTIVATIONS:
        raise UsageError(f"activations: expected one of {ACTIVATIONS}, got {activations!r}")
    if float_layers:
        return convert_selective_ptq(model, representative, float_layers, io_dtype, output_range, output_dtype)
    if output_range is None and activations == "int8" and output_dtype in (None, io_dtype):
        c = integer_converter(model, io_dtype)
        # Integer-only kernels: conversion fails rather than leave a float op behind. (Not for QAT models:
        # TF 2.21 then demands a representative dataset that a QAT graph does not need.)
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        c.representative_dataset = _batches(representative)
        return c.convert()
    calibrated = calibrated_model(model, representative)
    if output_range is not None:
        calibrated = pin_output_range(calibrated, pinned_range(output_range))
    return quantize_calibrated(calibrated, io_dtype, output_dtype or io_dtype, activations)


def _batches(representative: Representative):
    return lambda: (list(x) if isinstance(x, (list, tuple)) else [x] for x in representative())


def calibrated_model(model: keras.Model, representative: Representative) -> bytes:
    """The float ``.tflite`` with each tensor's calibrated [min, max] recorded in it, not yet quantized
    (what ``TFLiteConverter`` quantizes from; its ``_experimental_calibrate_only`` stops there)."""
    c = static_converter(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = _batches(representative)
    c._experimental_calibrate_only = True  # noqa: SLF001 (no public switch; the QuantizationDebugger uses it too)
    return c.convert()


def pin_output_range(calibrated: bytes, value_range: Sequence[float], output_index: int = 0) -> bytes:
    """``calibrated`` with the [min, max] of its ``output_index``-th output set to ``value_range``.

    The quantizer derives the output's scale and zero point from that [min, max] alone, so the int8
    levels then span the model's whole valid output range: not the part the calibration images
    reached (PTQ clipped at 5.6 m on the quickstart's 0.25-10 m), and nothing beyond it."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    m = flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated))
    sg = m.subgraphs[0]
    if not 0 <= output_index < len(sg.outputs):
        raise UsageError(f"pin_output_range: the model has {len(sg.outputs)} output(s), no index {output_index}")
    # Ops whose output the quantizer gives their input's scale (a nearest upsampling after the head, a
    # reshape): pinning only the model output would be overwritten from the tensor before them.
    same_scale = {getattr(schema.BuiltinOperator, n) for n in _SAME_SCALE_OPS}
    producer = {o: op for op in sg.operators for o in op.outputs}
    index = sg.outputs[output_index]
    while True:
        q = sg.tensors[index].quantization
        if q is None or q.min is None or len(q.min) != 1:
            raise UsageError("pin_output_range: the output tensor has no calibrated [min, max] (not a calibrated model)")
        q.min, q.max = [float(value_range[0])], [float(value_range[1])]
        op = producer.get(index)
        if op is None:
            break
        code = m.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) not in same_scale:
            break
        index = op.inputs[0]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(m))


_SAME_SCALE_OPS = ("RESIZE_NEAREST_NEIGHBOR", "RESHAPE", "SQUEEZE", "EXPAND_DIMS")


def quantize_calibrated(calibrated: bytes, io_dtype: str = "uint8", output_dtype: Optional[str] = None,
                        activations: str = "int8", denylisted_nodes: Sequence[str] = ()) -> bytes:
    """Quantize a calibrated model from the ranges recorded in it.

    int8: the MLIR quantizer (what ``TFLiteConverter`` runs), float interface, then the interface
    rewrite the converter applies for ``inference_input_type``/``inference_output_type``; any float
    compute op left over is refused, as ``TFLITE_BUILTINS_INT8`` refuses it.
    int16 (16x8): the MLIR quantizer cannot do it (CONV_2D rejects its asymmetric int16 inputs), so the
    legacy calibrator's quantizer, fed no further images, quantizes from the recorded ranges."""
    in_dtype = check_io_dtype(io_dtype)
    out_dtype = check_io_dtype(output_dtype or io_dtype)
    if activations == "int16":
        from tensorflow.lite.python.optimize import calibrator

        def io16(d: tf.dtypes.DType) -> tf.dtypes.DType:
            return tf.float32 if d == tf.float32 else tf.int16
        return bytes(calibrator.Calibrator(calibrated).calibrate_and_quantize(
            lambda: iter(()), io16(in_dtype), io16(out_dtype), False, activations_type=tf.int16,
            bias_type=tf.int64))  # as the converter's 16x8 mode: int64 biases (DEPTHWISE_CONV_2D demands them)
    from tensorflow.lite.python import convert

    blob = convert.mlir_quantize(calibrated, denylisted_nodes=list(denylisted_nodes) or None)
    blob = bytes(tflite_util.modify_model_io_type(blob, in_dtype, out_dtype))
    if not denylisted_nodes:
        from export.int8_ops import int8_problems, list_ops

        problems = int8_problems(list_ops(blob))
        if problems:
            raise UsageError(f"int8 PTQ left ops in float: {problems[:3]}")
    return blob


def keras_layers_of(tensor_name: str, layer_names: set[str]) -> list[str]:
    """Keras layers named in a TFLite tensor name (``model/layer/Op;model/layer2/Op2`` after fusion)."""
    found = []
    for part in tensor_name.split(";"):
        bits = part.split("/")
        for b in bits[1:2]:
            if b in layer_names and b not in found:
                found.append(b)
    return found


def denylisted_nodes_for(calibrated: bytes, model: keras.Model, float_layers: Sequence[str]) -> list[str]:
    """The op output tensor names (the debugger's node names) that belong to ``float_layers``, read
    from the calibrated float model (no debug run needed)."""
    names = {l.name for l in model.layers}
    # quantize_apply renames every layer it wraps (annotated or not) to quant_<name>
    keep = {n if n in names else f"quant_{n}" for n in float_layers}
    missing = sorted(n for n in float_layers if n not in names and f"quant_{n}" not in names)
    if missing:
        raise UsageError(f"export.float_layers: no layer named {missing} in model {model.name!r}")
    it = load_interpreter(calibrated, num_threads=1, delegates=False)
    tensor_names = {t["index"]: t["name"] for t in it.get_tensor_details()}
    nodes = [tensor_names[o] for op in it._get_ops_details() for o in op["outputs"]
             if o >= 0 and keep & set(keras_layers_of(tensor_names[o], names))]
    if not nodes:
        raise UsageError(f"export.float_layers: {sorted(keep)} match no quantized op (activations and BN are fused "
                         "into the conv before them; name the conv, e.g. from `keras-depth export --rank-layers`)")
    return nodes


def convert_selective_ptq(model: keras.Model, representative: Representative, float_layers: Sequence[str],
                          io_dtype: str = "uint8", output_range: Optional[Sequence[float]] = None,
                          output_dtype: Optional[str] = None) -> bytes:
    """Full-int8 PTQ except ``float_layers`` (Keras layer names), with an ``io_dtype`` interface.

    The MLIR quantizer's ``denylisted_nodes`` (what ``QuantizationDebugOptions(denylisted_nodes=...)``
    passes it) keeps their ops float; the output range is pinned as in ``convert_int8_ptq``."""
    xs = list(representative())
    calibrated = calibrated_model(model, lambda: iter(xs))
    nodes = denylisted_nodes_for(calibrated, model, float_layers)
    if output_range is not None:
        calibrated = pin_output_range(calibrated, pinned_range(output_range))
    return quantize_calibrated(calibrated, io_dtype, output_dtype, denylisted_nodes=nodes)
