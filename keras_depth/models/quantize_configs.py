"""The ``QuantizeConfig`` of each layer that tfmot's default 8-bit registry cannot quantize (our own
layers, ``keras_depth.models.layers``, and Keras's ``Multiply``), and the depth head's fixed output range.

tfmot 0.8's ``Default8BitQuantizeRegistry`` (default_8bit_quantize_registry.py, ``_LAYER_QUANTIZE_INFO``)
has no entry for ``keras.layers.Multiply``, for ``TFOpLambda`` (what ``x + 3.0`` in Keras' own
MobileNetV3 hard-swish becomes) or for any custom layer; ``quantize_apply`` then stops with "Layer ... is
not supported. You can quantize this layer by passing a ``tfmot.quantization.keras.QuantizeConfig``
instance to the ``quantize_annotate_layer`` API". Its documented remedy is a ``QuantizeConfig`` per layer
(tfmot guide "Quantization aware training comprehensive guide", section "Quantize custom Keras layer").

``keras_depth.training.qat.make_qat_model`` passes ``quantize_config_for(layer)`` to
``quantize_annotate_layer`` for each layer, the public route; nothing here patches tfmot's registry.

Every config here quantizes the layer's output only: its inputs already carry the fake-quant ranges of
the layers that produced them, and the layer has no weights.
"""
from __future__ import annotations

from typing import Optional

from keras_depth.kerasapi import keras, layers, tfmot
from keras_depth.models.layers import ClippedExp, HardSwish, L2Normalize


def _output_quantizer():
    q = tfmot().quantization.keras
    return q.quantizers.MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)


def _make_config_classes():
    # Built on first use: importing tfmot takes seconds, and plain float training never needs it.
    q = tfmot().quantization.keras
    base = q.QuantizeConfig

    @keras.saving.register_keras_serializable(package="keras_depth")
    class OutputQuantizeConfig(base):
        """Weights: none. Inputs: already quantized upstream. Output: one moving-average int8 range."""

        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return [_output_quantizer()]

        def get_config(self):
            return {}

    @keras.saving.register_keras_serializable(package="keras_depth")
    class FixedRangeOutputConfig(base):
        """The depth head's last layer: its output quantized over a fixed [lo, hi] (tfmot's
        ``FixedQuantizer``), not a moving average. tfmot starts every moving-average range at [-6, 6]
        and moves it by 0.1 % a step (ema_decay 0.999), so a short QAT run exports about [-6, 6]:
        the quickstart's 25 steps gave scale 0.046, zero point 126, half the levels on negative depths.

        A Conv2D (the head's frozen affine map) keeps tfmot's default kernel quantizer (per-channel,
        symmetric, narrow range, as ``Default8BitConvQuantizeConfig``) and gets the fixed range after
        its (linear) activation; a layer without a kernel (``ClippedExp``) gets it on its output."""

        def __init__(self, lo: float, hi: float):
            self.lo, self.hi = float(lo), float(hi)

        def _fixed(self):
            return q.quantizers.FixedQuantizer(num_bits=8, init_min=self.lo, init_max=self.hi, narrow_range=False)

        def get_weights_and_quantizers(self, layer):
            if not hasattr(layer, "kernel"):
                return []
            kernel = q.quantizers.LastValueQuantizer(num_bits=8, per_axis=True, symmetric=True, narrow_range=True)
            return [(layer.kernel, kernel)]

        def get_activations_and_quantizers(self, layer):
            return [(layer.activation, self._fixed())] if hasattr(layer, "kernel") else []

        def set_quantize_weights(self, layer, quantize_weights):
            if hasattr(layer, "kernel"):
                layer.kernel = quantize_weights[0]

        def set_quantize_activations(self, layer, quantize_activations):
            if hasattr(layer, "kernel"):
                layer.activation = quantize_activations[0]

        def get_output_quantizers(self, layer):
            return [] if hasattr(layer, "kernel") else [self._fixed()]

        def get_config(self):
            return {"lo": self.lo, "hi": self.hi}

    return OutputQuantizeConfig, FixedRangeOutputConfig


_CONFIG_CLASSES = None


def _classes():
    global _CONFIG_CLASSES
    if _CONFIG_CLASSES is None:
        _CONFIG_CLASSES = _make_config_classes()
    return _CONFIG_CLASSES


def output_quantize_config():
    return _classes()[0]()


def fixed_range_output_config(lo: float, hi: float):
    """The QuantizeConfig that pins a head layer's output to [lo, hi] (``FixedRangeOutputConfig``)."""
    return _classes()[1](lo, hi)


# Layer classes tfmot's default registry lacks -> the config each gets. Multiply: used by MobileNetV3's
# squeeze-excite gate (x * gate) and not in tfmot's registry; its int8 MUL takes two int8 inputs.
def _custom_classes() -> tuple:
    return (HardSwish, ClippedExp, L2Normalize, layers.Multiply)


def quantize_config_for(layer) -> Optional[object]:
    """The QuantizeConfig this module provides for ``layer``, or None (tfmot's default applies)."""
    return output_quantize_config() if type(layer) in _custom_classes() else None


def custom_objects() -> dict:
    """For ``load_model`` of a QAT model holding these layers (inside ``quantize_scope``)."""
    out_cls, fixed_cls = _classes()
    return {"HardSwish": HardSwish, "ClippedExp": ClippedExp, "L2Normalize": L2Normalize,
            out_cls.__name__: out_cls, fixed_cls.__name__: fixed_cls}
