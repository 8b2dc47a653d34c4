"""Decoders: each maps the encoder taps (1/2 .. 1/32, fine to coarse) to a full-resolution feature map.

Stage ``i`` names its layers ``dec{i}_*``, and the last layer of a stage is its output: the stereo
trainer takes its per-scale disparities from those layers by name (``training.stereo``), so the
inference graph carries nothing extra.
"""
from __future__ import annotations

from typing import Callable, Sequence

from keras_depth.errors import UsageError
from keras_depth.kerasapi import layers
from keras_depth.models.blocks import conv_bn_relu, separable_conv_bn_relu, upsample
from keras_depth.registry import Registry

Decoder = Callable[..., object]
DECODERS: Registry[Decoder] = Registry("decoder")
register_decoder = DECODERS.register


def get_decoder(name: str) -> Decoder:
    return DECODERS.get(name)


def _check_filters(features: list, filters: Sequence[int]) -> None:
    if len(filters) != len(features):
        raise UsageError(f"decoder_filters: expected {len(features)} values (one per stage), got {list(filters)}")


@register_decoder("unet")
def unet_decoder(features: list, filters: Sequence[int], upsampling: str = "nearest", separable: bool = False,
                 full_resolution: bool = True):
    """The lecture's U-Net decoder: from the coarsest feature up, upsample x2, concatenate the skip of
    that scale, conv. The last stage upsamples from 1/2 to full resolution, where there is no skip;
    ``full_resolution=False`` leaves it out (the output is at 1/2 and ``filters`` has one entry fewer)."""
    if full_resolution:
        _check_filters(features, filters)
    elif len(filters) != len(features) - 1:
        raise UsageError(f"decoder_filters: expected {len(features) - 1} values (one per stage, none at full "
                         f"resolution), got {list(filters)}")
    conv = separable_conv_bn_relu if separable else conv_bn_relu
    x = features[-1]
    skips = list(reversed(features[:-1])) + ([None] if full_resolution else [])
    for i, (skip, f) in enumerate(zip(skips, filters)):
        x = upsample(x, upsampling, name=f"dec{i}_up")
        if skip is not None:
            x = layers.Concatenate(name=f"dec{i}_concat")([x, skip])
        x = conv(x, f, name=f"dec{i}")
    return x


@register_decoder("nnconv5")
def nnconv5_decoder(features: list, filters: Sequence[int], upsampling: str = "nearest", separable: bool = True):
    """FastDepth's NNConv5 (Wofk et al., ICRA 2019, Sec. III-B): five stages of a depthwise-separable 5x5
    conv then x2 nearest upsampling, with additive skips (a 1x1 projection where the skip's width differs;
    FastDepth picks decoder widths that match, which ``decoder_filters`` can do too)."""
    _check_filters(features, filters)
    x = features[-1]
    skips = list(reversed(features[:-1])) + [None]
    for i, (skip, f) in enumerate(zip(skips, filters)):
        x = separable_conv_bn_relu(x, f, kernel=5, name=f"dec{i}")
        x = upsample(x, upsampling, name=f"dec{i}_up")
        if skip is not None:
            if int(skip.shape[-1]) != f:
                skip = layers.Conv2D(f, 1, use_bias=False, name=f"dec{i}_skip_proj")(skip)
            x = layers.Add(name=f"dec{i}_add")([x, skip])
    return x


@register_decoder("fusion")
def fusion_decoder(features: list, filters: Sequence[int], upsampling: str = "nearest", separable: bool = True):
    """A light feature-fusion (FPN-style) decoder: every tap is projected to ``filters[0]`` channels by a
    1x1 conv; from the coarsest up, upsample, add the projected tap, fuse with a separable 3x3 conv. The
    last stage upsamples 1/2 -> full resolution and refines with ``filters[-1]`` channels.

    ``filters``: (fusion width, ..., full-resolution width); only the first and last entries are used
    beyond their count check, so every scale shares one width (as in FPN)."""
    _check_filters(features, filters)
    width = int(filters[0])
    lateral = [conv_bn_relu(f, width, 1, name=f"lat{j}") for j, f in enumerate(features)]
    x = lateral[-1]
    for i, skip in enumerate(reversed(lateral[:-1])):
        x = upsample(x, upsampling, name=f"dec{i}_up")
        x = layers.Add(name=f"dec{i}_add")([x, skip])
        x = separable_conv_bn_relu(x, width, 3, name=f"dec{i}")
    last = len(features) - 1
    x = upsample(x, upsampling, name=f"dec{last}_up")
    return separable_conv_bn_relu(x, int(filters[-1]), 3, name=f"dec{last}")
