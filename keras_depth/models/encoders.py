"""Encoders: each returns the feature maps a decoder taps, from fine (1/2) to coarse (1/32).

They build on the caller's input tensor, so the result stays one flat functional graph (no nested
``Model`` inside the inference graph; tfmot's ``quantize_apply`` needs that).
"""
from __future__ import annotations

from typing import Callable, Optional

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras

Encoder = Callable[..., list]
_ENCODERS: dict[str, Encoder] = {}


def register_encoder(name: str) -> Callable[[Encoder], Encoder]:
    def deco(fn: Encoder) -> Encoder:
        _ENCODERS[name] = fn
        return fn

    return deco


def get_encoder(name: str) -> Encoder:
    if name not in _ENCODERS:
        raise UsageError(f"encoder {name!r} is unknown (expected one of: {', '.join(sorted(_ENCODERS))})")
    return _ENCODERS[name]


def encoder_names() -> list[str]:
    return sorted(_ENCODERS)


def _check_weights(weights: Optional[str]) -> Optional[str]:
    if weights not in (None, "imagenet"):
        raise UsageError(f"weights: expected None or 'imagenet', got {weights!r}")
    return weights


def _application(builder, inputs, weights, **kwargs):
    """Build a Keras application on ``inputs``; 'imagenet' needs the network, so say so plainly."""
    try:
        return builder(input_tensor=inputs, include_top=False, weights=_check_weights(weights), **kwargs)
    except Exception as e:  # download failures surface as several exception types
        if weights == "imagenet":
            raise UsageError(
                f"weights='imagenet' could not be loaded ({type(e).__name__}: {str(e).splitlines()[0][:120]}); "
                "it needs network access to Keras' weight store, or use weights=None"
            ) from None
        raise


@register_encoder("mobilenetv2")
def mobilenetv2_encoder(inputs, alpha: float = 0.35, weights: Optional[str] = None) -> list:
    """MobileNetV2 (Sandler et al. 2018). Taps: the expand activations at 1/2, 1/4, 1/8, 1/16 and the
    last bottleneck projection at 1/32 (skipping the 1280-wide head conv, which a decoder does not need)."""
    if not 0.35 <= alpha <= 1.0:
        raise UsageError(f"mobilenetv2 alpha: expected 0.35..1.0, got {alpha}")
    base = _application(keras.applications.MobileNetV2, inputs, weights, alpha=alpha)
    names = ["block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu", "block_13_expand_relu", "block_16_project_BN"]
    return [base.get_layer(n).output for n in names]
