"""EfficientNet-Lite0 (Tan & Le 2019; the TF "lite" variants): EfficientNet-B0's MBConv stack with the
mobile changes that make it int8-friendly: ReLU6 instead of swish, no squeeze-excite, and a stem and head
that are not scaled with width. Written from blocks (no weights are downloaded)."""
from __future__ import annotations

from keras_depth.kerasapi import layers
from keras_depth.models.blocks import make_divisible

# (expansion, kernel, stride, filters, repeats): EfficientNet-B0's stages.
LITE0_STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]


def mbconv(x, expansion: int, kernel: int, stride: int, filters: int, name: str):
    """Inverted residual: 1x1 expand, kxk depthwise, 1x1 linear projection; ReLU6; residual when shapes match."""
    inp, cin = x, int(x.shape[-1])
    if expansion != 1:
        x = layers.Conv2D(cin * expansion, 1, use_bias=False, name=f"{name}_expand")(x)
        x = layers.ReLU(6.0, name=f"{name}_expand_relu")(layers.BatchNormalization(name=f"{name}_expand_bn")(x))
    x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.ReLU(6.0, name=f"{name}_dw_relu")(layers.BatchNormalization(name=f"{name}_dw_bn")(x))
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project")(x)
    x = layers.BatchNormalization(name=f"{name}_project_bn")(x)
    if stride == 1 and cin == filters:
        x = layers.Add(name=f"{name}_add")([inp, x])
    return x


def efficientnet_lite_features(inputs, width: float = 1.0) -> list:
    """Taps at 1/2 .. 1/32 (the last block output at each resolution; the 1280-wide head is skipped)."""
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)  # fixed stem
    x = layers.ReLU(6.0, name="stem_relu")(layers.BatchNormalization(name="stem_bn")(x))
    taps = {}
    for s, (e, k, stride, f, r) in enumerate(LITE0_STAGES):
        for i in range(r):
            x = mbconv(x, e, k, stride if i == 0 else 1, make_divisible(f * width), name=f"block{s + 1}{chr(97 + i)}")
        taps[int(inputs.shape[1]) // int(x.shape[1])] = x
    return [taps[r] for r in (2, 4, 8, 16, 32)]

