"""keras-depth's own layers: a one-layer hard-swish, a clipped exp head and an L2 normalisation.

Each exists as one layer so that it gets one int8 output range (``keras_depth.models.quantize_configs``
gives each its ``QuantizeConfig``) and maps to one TFLite op. They are registered under package
``keras_depth`` with their class names: saved ``.keras`` files name them so, and must keep loading.
"""
from __future__ import annotations

import math

from keras_depth.kerasapi import keras, layers, tf


@keras.saving.register_keras_serializable(package="keras_depth")
class HardSwish(layers.Layer):
    """``x * relu6(x + 3) / 6`` (MobileNetV3, Howard et al. 2019, Eq. 2) as ONE layer.

    Keras' application writes it as Multiply + two TFOpLambda ops, none of which tfmot quantizes; as one
    layer it gets one output range, and the TFLite converter fuses the pattern into its int8 HARD_SWISH op.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def call(self, x):
        return x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)


@keras.saving.register_keras_serializable(package="keras_depth")
class ClippedExp(layers.Layer):
    """``exp(clip(x, log lo, log hi))``: the exp parameterisation of a bounded depth or disparity head.

    Clipping before the exp bounds the output to [lo, hi] exactly, so the int8 output range is known."""

    def __init__(self, lo: float, hi: float, **kwargs):
        super().__init__(**kwargs)
        if not 0 < lo < hi:
            raise ValueError(f"ClippedExp: expected 0 < lo < hi, got lo={lo}, hi={hi}")
        self.lo, self.hi = float(lo), float(hi)

    def call(self, x):
        return tf.exp(tf.clip_by_value(x, math.log(self.lo), math.log(self.hi)))

    def get_config(self) -> dict:
        return {**super().get_config(), "lo": self.lo, "hi": self.hi}


@keras.saving.register_keras_serializable(package="keras_depth")
class L2Normalize(layers.Layer):
    """Unit-length vectors along channels (surface normals); TFLite has an int8 L2_NORMALIZATION op."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def call(self, x):
        return tf.math.l2_normalize(x, axis=-1, epsilon=1e-12)
