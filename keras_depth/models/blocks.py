"""Small block functions that the model builders compose into one flat functional graph.

Everything here is a layer that tfmot's default 8-bit registry quantizes (Conv2D, DepthwiseConv2D,
BatchNormalization folded into the conv, ReLU, Concatenate, Add, UpSampling2D), so QAT applies to
the whole inference graph without a custom QuantizeConfig.
"""
from __future__ import annotations

import math

from keras_depth.kerasapi import keras, layers
from keras_depth.spec import DepthSpec


def make_divisible(v: float, divisor: int = 8) -> int:
    """Channel rounding of the MobileNet family (Keras' ``_depth``): a multiple of 8, never more than 10% down."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def conv_bn_relu(x, filters: int, kernel: int = 3, stride: int = 1, name: str = "conv"):
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def separable_conv_bn_relu(x, filters: int, kernel: int = 3, name: str = "sep"):
    """Depthwise kxk + pointwise 1x1, each with BN and ReLU6 (MobileNet's cheap 'conv')."""
    x = layers.DepthwiseConv2D(kernel, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(name=f"{name}_dw_bn")(x)
    x = layers.ReLU(6.0, name=f"{name}_dw_relu")(x)
    return conv_bn_relu(x, filters, 1, name=f"{name}_pw")


def upsample(x, interpolation: str, name: str):
    # Bilinear resize quantizes poorly in int8 (tfmot issue #1000); nearest + conv is the default.
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"upsampling must be 'nearest' or 'bilinear', got {interpolation!r}")
    return layers.UpSampling2D(2, interpolation=interpolation, name=name)(x)


HEAD_PARAMETERISATIONS = ("sigmoid", "exp")


def depth_head(x, spec: DepthSpec, name: str = "depth", parameterisation: str = "sigmoid"):
    """1-channel sigmoid, mapped affinely onto the spec's output range (or ``exp``, see ``exp_head``).

    The affine map is a frozen 1x1 conv (weight = hi - lo, bias = lo) rather than a Lambda or a
    Rescaling layer: tfmot's default registry has no quantize rule for those, and a conv keeps the
    whole head int8 with the output quantized over exactly [lo, hi].
    """
    if parameterisation not in HEAD_PARAMETERISATIONS:
        raise ValueError(f"head: expected one of {HEAD_PARAMETERISATIONS}, got {parameterisation!r}")
    if parameterisation == "exp":
        if spec.kind == "log_depth":
            raise ValueError("head 'exp' outputs depth or disparity; a log_depth spec takes the 'sigmoid' head")
        return exp_head(x, spec, name)
    lo, hi = spec.output_range
    # Start at the range's geometric middle, not its arithmetic one (sigmoid(0)): for 0.25-10 m that is
    # 1.6 m instead of 5.1 m, near where indoor depth lies, so early steps learn structure, not the offset.
    # A log-depth output is already logarithmic: its arithmetic middle is that depth.
    mid = 0.5 if spec.kind == "log_depth" else (math.sqrt(lo * hi) - lo) / (hi - lo)
    x = layers.Conv2D(
        1, 3, padding="same", activation="sigmoid", name=f"{name}_logits",
        bias_initializer=keras.initializers.Constant(math.log(mid / (1.0 - mid))),
    )(x)
    scale = layers.Conv2D(
        1,
        1,
        name=name,
        trainable=False,
        kernel_initializer=keras.initializers.Constant(hi - lo),
        bias_initializer=keras.initializers.Constant(lo),
        dtype="float32",
    )
    return scale(x)


def exp_head(x, spec: DepthSpec, name: str = "depth"):
    """``exp(clip(logits, log lo, log hi))``: log-depth (or log-disparity) regression, bounded by the spec.

    Uniform in log space, where sigmoid is uniform in linear space; int8 TFLite runs it as MINIMUM/MAXIMUM
    + EXP (an int8 lookup table). The exp layer needs a custom QuantizeConfig (``models.quantize_configs``)."""
    from keras_depth.models.layers import ClippedExp

    lo, hi = spec.output_range
    # Start at the range's geometric middle (exp(0) = 1 would sit wherever 1 happens to fall in it).
    mid = 0.5 * (math.log(lo) + math.log(hi))
    x = layers.Conv2D(1, 3, padding="same", name=f"{name}_logits", bias_initializer=keras.initializers.Constant(mid))(x)
    return ClippedExp(lo, hi, name=name)(x)
