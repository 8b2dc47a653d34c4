"""The lecture's U-Net: encoder (conv + downsampling), decoder (upsample + conv), concatenated skips."""
from __future__ import annotations

from typing import Optional, Sequence

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras, layers
from keras_depth.models.blocks import conv_bn_relu, depth_head, separable_conv_bn_relu, upsample
from keras_depth.models.encoders import get_encoder
from keras_depth.spec import DepthSpec


def unet_decoder(features: list, filters: Sequence[int], upsampling: str = "nearest", separable: bool = False):
    """From the coarsest feature up: upsample x2, concatenate the skip of that scale, conv.

    ``filters`` has one entry per decoder stage (len(features) stages: the last one upsamples from
    1/2 to full resolution, where there is no skip).
    """
    if len(filters) != len(features):
        raise UsageError(f"decoder_filters: expected {len(features)} values (one per stage), got {list(filters)}")
    conv = separable_conv_bn_relu if separable else conv_bn_relu
    x = features[-1]
    skips = list(reversed(features[:-1])) + [None]
    for i, (skip, f) in enumerate(zip(skips, filters)):
        x = upsample(x, upsampling, name=f"dec{i}_up")
        if skip is not None:
            x = layers.Concatenate(name=f"dec{i}_concat")([x, skip])
        x = conv(x, f, name=f"dec{i}")
    return x


def build_unet(
    input_shape: Sequence[int] = (128, 128, 3),
    spec: Optional[DepthSpec] = None,
    encoder: str = "mobilenetv2",
    encoder_params: Optional[dict] = None,
    decoder_filters: Sequence[int] = (96, 64, 32, 24, 16),
    upsampling: str = "nearest",
    separable_decoder: bool = False,
    weights: Optional[str] = None,
    name: str = "unet",
) -> keras.Model:
    """A flat functional U-Net: RGB in [0, 1] -> bounded depth or disparity (``spec``)."""
    spec = spec or DepthSpec()
    h, w = int(input_shape[0]), int(input_shape[1])
    if h % 32 or w % 32:
        raise UsageError(f"input size must be a multiple of 32 (five 2x downsamplings), got {h}x{w}")
    inputs = keras.Input((h, w, 3), name="image")
    # MobileNet-class encoders are trained on [-1, 1]; the affine map is a frozen depthwise conv so
    # that it quantizes (our inputs are pixel/255, which a uint8 input with scale 1/255 feeds exactly).
    x = layers.DepthwiseConv2D(
        1,
        name="input_to_pm1",
        trainable=False,
        depthwise_initializer=keras.initializers.Constant(2.0),
        bias_initializer=keras.initializers.Constant(-1.0),
        use_bias=True,
    )(inputs)
    features = get_encoder(encoder)(x, weights=weights, **(encoder_params or {}))
    x = unet_decoder(features, decoder_filters, upsampling, separable_decoder)
    outputs = depth_head(x, spec)
    return keras.Model(inputs, outputs, name=name)
