"""TFLite converters of a Keras model with a static batch of 1: float32, float16, dynamic range, and
the integer-interface converter that full-int8 PTQ and QAT build on.

Every variant has static shapes [1, h, w, 3] -> [1, h, w, 1]; the full-integer variants take
``export.io_dtype`` (uint8, int8 or float32) at input and output (``IO_DTYPES``).
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import tensorflow as tf

from export.variant_names import IO_DTYPE_NAMES
from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras

IO_DTYPES = {name: tf.as_dtype(name) for name in IO_DTYPE_NAMES}

# Calibration images: a callable yielding float32 [1, h, w, 3] batches in [0, 1] (for a model with
# several inputs, a list of such batches in ``model.inputs`` order).
Representative = Callable[[], Iterable[np.ndarray]]


def static_converter(model: keras.Model) -> tf.lite.TFLiteConverter:
    """A converter whose graph has a static batch of 1 (``from_keras_model`` leaves the batch dynamic,
    shape_signature -1, which costs a resize on some delegates and breaks "static shapes").

    One input is named ``image``; a model with several (``demon_pair``'s image pair) keeps its Keras
    input names in the signature (feed them by name: the tensor order of the inputs is not the model's)."""
    inputs = model.inputs
    names = ["image"] if len(inputs) == 1 else [t.name.split(":")[0] for t in inputs]
    specs = [tf.TensorSpec([1, *t.shape[1:]], tf.float32, name=n) for t, n in zip(inputs, names)]
    if len(specs) == 1:
        fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(specs[0])
    else:
        fn = tf.function(lambda *xs: model(list(xs), training=False)).get_concrete_function(*specs)
    # The converter saves its trackable object as a SavedModel before converting. Given the Keras model,
    # that save re-traces every layer's call for Keras' SavedModel format, then writes a checkpoint of
    # every variable (a tfmot QAT model has thousands): most of the conversion time. Freezing the
    # variables into the traced graph first (as the converter's importer does anyway) leaves it nothing
    # to save; the .tflite has the same ops and signature (only internal tensor names differ).
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(fn)
    # The frozen function returns a flat list: re-pack it so that dict outputs keep their names.
    packed = tf.function(lambda *xs: tf.nest.pack_sequence_as(fn.structured_outputs, tf.nest.flatten(frozen(*xs))))
    return tf.lite.TFLiteConverter.from_concrete_functions([packed.get_concrete_function(*specs)], tf.Module())


def convert_float32(model: keras.Model) -> bytes:
    return static_converter(model).convert()


def convert_float16(model: keras.Model) -> bytes:
    c = static_converter(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.target_spec.supported_types = [tf.float16]
    return c.convert()


def convert_int8_dynamic(model: keras.Model) -> bytes:
    """Dynamic-range: Optimize.DEFAULT without a representative dataset (weights only, float interface)."""
    c = static_converter(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    return c.convert()


def check_io_dtype(io_dtype: str) -> tf.dtypes.DType:
    if io_dtype not in IO_DTYPES:
        raise UsageError(f"export.io_dtype: expected one of {sorted(IO_DTYPES)}, got {io_dtype!r}")
    return IO_DTYPES[io_dtype]


def integer_converter(model: keras.Model, io_dtype: str) -> tf.lite.TFLiteConverter:
    """Optimize.DEFAULT with an ``io_dtype`` interface: full-int8 once it has ranges (a representative
    dataset, or the fake-quant nodes of a QAT model)."""
    dtype = check_io_dtype(io_dtype)
    c = static_converter(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.inference_input_type = dtype
    c.inference_output_type = dtype
    return c


def debug_converter(model: keras.Model, representative: Representative) -> tf.lite.TFLiteConverter:
    """The float-interface, calibrated converter that ``tf.lite.experimental.QuantizationDebugger`` takes
    (one input)."""
    c = static_converter(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = lambda: ([x] for x in representative())
    return c
