"""Multiply-accumulate count of a Keras graph (conv, depthwise, dense: the layers that dominate cost)."""
from __future__ import annotations

from keras_depth.kerasapi import keras, layers


def _shape(t) -> tuple:
    return tuple(int(v) for v in t.shape[1:])


def layer_macs(layer) -> int:
    """MACs of one call of ``layer``: output H x W x kernel area x Cin x Cout / groups (x multiplier)."""
    if isinstance(layer, layers.DepthwiseConv2D):
        oh, ow, cout = _shape(layer.output)
        kh, kw = layer.kernel_size
        return oh * ow * kh * kw * cout  # each output channel reads one input channel
    if isinstance(layer, layers.Conv2D):  # includes Conv2DTranspose (counted per output pixel)
        oh, ow, cout = _shape(layer.output)
        cin = _shape(layer.input)[-1]
        kh, kw = layer.kernel_size
        return oh * ow * kh * kw * cin * cout // layer.groups
    if isinstance(layer, layers.Dense):
        cin = _shape(layer.input)[-1]
        spatial = 1
        for v in _shape(layer.output)[:-1]:
            spatial *= v
        return spatial * cin * layer.units
    return 0


def count_macs(model: keras.Model) -> int:
    """Sum of ``layer_macs`` over the model (elementwise ops, BN and pooling are not counted)."""
    return sum(layer_macs(l) for l in model.layers)
