"""Encoder-decoder depth networks: the lecture's U-Net and its relatives, one flat functional graph."""
from __future__ import annotations

from typing import Optional, Sequence

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras, layers
from keras_depth.models.blocks import depth_head, upsample
from keras_depth.models.decoders import get_decoder
from keras_depth.models.encoders import get_encoder
from keras_depth.spec import DepthSpec


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
    decoder: str = "unet",
    head: str = "sigmoid",
    output_stride: int = 1,
) -> keras.Model:
    """A flat functional encoder-decoder: RGB in [0, 1] -> bounded depth or disparity (``spec``).

    ``decoder``: 'unet' (concatenated skips), 'nnconv5' (FastDepth) or 'fusion' (``decoders``);
    ``head``: 'sigmoid' (default) or 'exp' (``blocks.depth_head``); ``output_stride`` 2 (unet decoder
    only) predicts depth at 1/2 resolution and upsamples the one-channel map x2 (nearest), leaving out
    the full-resolution decoder stage, the costliest per MAC on a phone or microcontroller (memory
    traffic of wide full-size maps); ``decoder_filters`` then has four entries."""
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
    if output_stride not in (1, 2):
        raise UsageError(f"output_stride: expected 1 or 2, got {output_stride}")
    if output_stride == 1:
        x = get_decoder(decoder)(features, decoder_filters, upsampling, separable_decoder)
        outputs = depth_head(x, spec, parameterisation=head)
    else:
        if decoder != "unet":
            raise UsageError(f"output_stride 2: only the 'unet' decoder supports it, got decoder={decoder!r}")
        x = get_decoder(decoder)(features, decoder_filters, upsampling, separable_decoder, full_resolution=False)
        outputs = upsample(depth_head(x, spec, name="depth_half", parameterisation=head), "nearest", name="depth")
    return keras.Model(inputs, outputs, name=name)
