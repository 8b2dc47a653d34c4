"""Full-int8 TFLite from a QAT model (``keras_depth.training.qat``): its ranges from the fake-quant
nodes, or, with ``qat.float_layers``, its fine-tuned weights through selective PTQ."""
from __future__ import annotations

from typing import Optional, Sequence

from export.converters import Representative, integer_converter
from export.ptq import convert_selective_ptq
from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras
from keras_depth.training.qat import float_layers_of, float_twin


def convert_int8_qat(qat_model: keras.Model, io_dtype: str = "uint8", model: Optional[keras.Model] = None,
                     representative: Optional[Representative] = None,
                     output_range: Optional[Sequence[float]] = None) -> bytes:
    """Integer model from a QAT model: the ranges come from its fake-quant nodes, no calibration.

    A QAT model with ``qat.float_layers`` needs ``model`` (its float graph) and ``representative``: the
    converter cannot keep those layers float from the fake-quant graph, so the QAT weights go through
    selective PTQ (``convert_selective_qat``, docs/export.md "Selective quantization")."""
    if float_layers_of(qat_model):
        if model is None or representative is None:
            raise UsageError("int8_qat with qat.float_layers needs the float model and calibration images")
        return convert_selective_qat(qat_model, model, representative, io_dtype, output_range)
    return integer_converter(qat_model, io_dtype).convert()


def convert_selective_qat(qat_model: keras.Model, model: keras.Model, representative: Representative,
                          io_dtype: str = "uint8", output_range: Optional[Sequence[float]] = None) -> bytes:
    """Full-int8 TFLite of a QAT model whose ``float_layers_of`` stay float ops.

    The TF 2.21 converter cannot do this from the fake-quant graph: by default it quantizes a float layer
    between quantized neighbours (it infers the weight range from the constant and takes the activation
    ranges from the neighbours' fake-quant nodes); ``_experimental_strict_qdq`` keeps the layer float but
    emits tfmot's asymmetric activations as uint8 beside int8 per-channel filters, which CONV_2D rejects
    at prepare ("input->type == kTfLiteInt8"); ``_experimental_low_bit_qat`` (no range inference) leaves
    int8 convs with float filters, rejected the same way. So the QAT-fine-tuned weights (``float_twin``)
    go through selective PTQ (QuantizationDebugger denylist, ``export.ptq``): weights as QAT trained
    them, activation ranges calibrated on ``representative()`` rather than read from the fake-quant
    nodes."""
    names = float_layers_of(qat_model)
    if not names:
        raise UsageError(f"QAT model {qat_model.name!r} keeps no layer in float (qat.float_layers is empty)")
    return convert_selective_ptq(float_twin(qat_model, model), representative, names, io_dtype, output_range)
