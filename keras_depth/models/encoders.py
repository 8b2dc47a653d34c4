"""Encoders: each returns the feature maps a decoder taps, from fine (1/2) to coarse (1/32).

They build on the caller's input tensor, so the result stays one flat functional graph (no nested
``Model`` inside the inference graph; tfmot's ``quantize_apply`` needs that).
"""
from __future__ import annotations

from typing import Callable, Optional

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras, layers
from keras_depth.models.applications import check_weights, keras_application
from keras_depth.models.efficientnet_lite import efficientnet_lite_features
from keras_depth.models.mobilenetv3 import mobilenetv3_features, transfer_imagenet
from keras_depth.registry import Registry

Encoder = Callable[..., list]
ENCODERS: Registry[Encoder] = Registry("encoder")
register_encoder = ENCODERS.register


def get_encoder(name: str) -> Encoder:
    return ENCODERS.get(name)


@register_encoder("mobilenetv2")
def mobilenetv2_encoder(inputs, alpha: float = 0.35, weights: Optional[str] = None) -> list:
    """MobileNetV2 (Sandler et al. 2018). Taps: the expand activations at 1/2, 1/4, 1/8, 1/16 and the
    last bottleneck projection at 1/32 (skipping the 1280-wide head conv, which a decoder does not need)."""
    if not 0.35 <= alpha <= 1.0:
        raise UsageError(f"mobilenetv2 alpha: expected 0.35..1.0, got {alpha}")
    base = keras_application(keras.applications.MobileNetV2, inputs, weights, alpha=alpha)
    names = ["block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu", "block_13_expand_relu", "block_16_project_BN"]
    return [base.get_layer(n).output for n in names]


@register_encoder("mobilenetv3small")
def mobilenetv3small_encoder(inputs, alpha: float = 1.0, minimalistic: bool = False, weights: Optional[str] = None) -> list:
    """MobileNetV3-Small, rewritten for tfmot (``mobilenetv3``); taps at 1/2 .. 1/32."""
    return _mobilenetv3(inputs, "small", alpha, minimalistic, weights)


@register_encoder("mobilenetv3large")
def mobilenetv3large_encoder(inputs, alpha: float = 1.0, minimalistic: bool = False, weights: Optional[str] = None) -> list:
    """MobileNetV3-Large, rewritten for tfmot (``mobilenetv3``); taps at 1/2 .. 1/32."""
    return _mobilenetv3(inputs, "large", alpha, minimalistic, weights)


def _mobilenetv3(inputs, size: str, alpha: float, minimalistic: bool, weights: Optional[str]) -> list:
    if weights == "imagenet" and alpha not in (0.75, 1.0):
        raise UsageError(f"mobilenetv3{size} alpha: Keras has ImageNet weights for 0.75 and 1.0 only, got {alpha}")
    if not 0.25 <= alpha <= 1.25:
        raise UsageError(f"mobilenetv3{size} alpha: expected 0.25..1.25, got {alpha}")
    feats = mobilenetv3_features(inputs, size, alpha, minimalistic)
    if check_weights(weights) == "imagenet":
        # The weights go in after the graph exists: the rewrite differs from Keras' graph (see mobilenetv3.py).
        transfer_imagenet(keras.Model(inputs, feats), size, alpha, minimalistic)
    return feats


@register_encoder("efficientnetlite0")
def efficientnetlite0_encoder(inputs, width: float = 1.0, weights: Optional[str] = None) -> list:
    """EfficientNet-Lite0 from blocks; Keras ships no Lite weights, so only weights=None."""
    if check_weights(weights) is not None:
        raise UsageError("efficientnetlite0: weights='imagenet' is not available (Keras applications have no EfficientNet-Lite); use weights=None")
    return efficientnet_lite_features(inputs, width)


@register_encoder("tiny")
def tiny_encoder(inputs, widths=(8, 16, 24, 32, 48), weights: Optional[str] = None) -> list:
    """A microcontroller-class encoder: a strided 3x3 stem, then one strided depthwise-separable block
    per scale (ReLU6); about 5k parameters with the default widths. No pretrained weights."""
    if check_weights(weights) is not None:
        raise UsageError("tiny encoder: weights='imagenet' is not available; use weights=None")
    if len(widths) != 5:
        raise UsageError(f"tiny encoder widths: expected 5 values (1/2 .. 1/32), got {list(widths)}")
    x = layers.Conv2D(widths[0], 3, strides=2, padding="same", use_bias=False, name="tiny_stem")(inputs)
    x = layers.ReLU(6.0, name="tiny_stem_relu")(layers.BatchNormalization(name="tiny_stem_bn")(x))
    taps = [x]
    for i, f in enumerate(widths[1:], start=1):
        x = layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False, name=f"tiny{i}_dw")(x)
        x = layers.ReLU(6.0, name=f"tiny{i}_dw_relu")(layers.BatchNormalization(name=f"tiny{i}_dw_bn")(x))
        x = layers.Conv2D(f, 1, use_bias=False, name=f"tiny{i}_pw")(x)
        x = layers.ReLU(6.0, name=f"tiny{i}_pw_relu")(layers.BatchNormalization(name=f"tiny{i}_pw_bn")(x))
        taps.append(x)
    return taps
