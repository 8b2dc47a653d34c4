"""MobileNetV3-Small/-Large (Howard et al., ICCV 2019) written so that tfmot quantizes every layer.

The layer names and weight shapes are those of ``keras.applications.MobileNetV3*`` so ImageNet weights
transfer by name. Two rewrites, both exact, keep the graph int8-friendly:

- hard-swish is one ``HardSwish`` layer (Keras writes ``Multiply(x, ReLU6(x + 3) * (1/6))`` with two
  TFOpLambda ops that tfmot cannot quantize); TFLite fuses it into its int8 HARD_SWISH op.
- the squeeze-excite gate ``hard_sigmoid(z) = relu6(z + 3) / 6`` becomes ``relu6(z + 3)`` (the +3 folded
  into the gate conv's bias, the ReLU6 fused into that conv) with the 1/6 folded into the kernel of the
  projection conv that always follows the SE block. Only the gate's ``Multiply`` needs a custom
  QuantizeConfig (``quantize_configs``).
"""
from __future__ import annotations

import numpy as np

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras, layers
from keras_depth.models.applications import keras_application
from keras_depth.models.blocks import make_divisible
from keras_depth.models.layers import HardSwish

# (expansion, filters, kernel ("k": 5 unless minimalistic), stride, squeeze-excite, activation)
_SMALL = [
    (1, 16, 3, 2, True, "relu"), (72 / 16, 24, 3, 2, False, "relu"), (88 / 24, 24, 3, 1, False, "relu"),
    (4, 40, "k", 2, True, "hswish"), (6, 40, "k", 1, True, "hswish"), (6, 40, "k", 1, True, "hswish"),
    (3, 48, "k", 1, True, "hswish"), (3, 48, "k", 1, True, "hswish"), (6, 96, "k", 2, True, "hswish"),
    (6, 96, "k", 1, True, "hswish"), (6, 96, "k", 1, True, "hswish"),
]
_LARGE = [
    (1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"), (3, 24, 3, 1, False, "relu"),
    (3, 40, "k", 2, True, "relu"), (3, 40, "k", 1, True, "relu"), (3, 40, "k", 1, True, "relu"),
    (6, 80, 3, 2, False, "hswish"), (2.5, 80, 3, 1, False, "hswish"), (2.3, 80, 3, 1, False, "hswish"),
    (2.3, 80, 3, 1, False, "hswish"), (6, 112, 3, 1, True, "hswish"), (6, 112, 3, 1, True, "hswish"),
    (6, 160, "k", 2, True, "hswish"), (6, 160, "k", 1, True, "hswish"), (6, 160, "k", 1, True, "hswish"),
]
STACKS = {"small": _SMALL, "large": _LARGE}


def _act(x, kind: str, name: str):
    return layers.ReLU(name=name + "relu")(x) if kind == "relu" else HardSwish(name=name + "hswish")(x)


def _bn(name: str):
    return layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=name)


def _block(x, expansion, filters, kernel, stride, se, act, block_id):
    shortcut, infilters = x, int(x.shape[-1])
    prefix = f"expanded_conv_{block_id}/" if block_id else "expanded_conv/"
    if block_id:
        x = layers.Conv2D(make_divisible(infilters * expansion), 1, padding="same", use_bias=False, name=prefix + "expand")(x)
        x = _act(_bn(prefix + "expand/BatchNorm")(x), act, prefix + "expand/")
    if stride == 2:
        # Keras' correct_pad for even inputs: pad (k//2 - 1, k//2) so 'valid' matches the reference.
        x = layers.ZeroPadding2D(((kernel // 2 - 1, kernel // 2), (kernel // 2 - 1, kernel // 2)), name=prefix + "depthwise/pad")(x)
    x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same" if stride == 1 else "valid", use_bias=False, name=prefix + "depthwise")(x)
    x = _act(_bn(prefix + "depthwise/BatchNorm")(x), act, prefix + "depthwise/")
    if se:
        ch = make_divisible(infilters * expansion)
        s = layers.GlobalAveragePooling2D(keepdims=True, name=prefix + "squeeze_excite/AvgPool")(x)
        s = layers.Conv2D(make_divisible(ch * 0.25), 1, padding="same", name=prefix + "squeeze_excite/Conv")(s)
        s = layers.ReLU(name=prefix + "squeeze_excite/Relu")(s)
        # relu6(z + 3): the +3 lives in this conv's bias (initialised to 3; see ``transfer_imagenet``).
        s = layers.Conv2D(ch, 1, padding="same", bias_initializer=keras.initializers.Constant(3.0), name=prefix + "squeeze_excite/Conv_1")(s)
        s = layers.ReLU(6.0, name=prefix + "squeeze_excite/Relu6")(s)
        x = layers.Multiply(name=prefix + "squeeze_excite/Mul")([x, s])
    # After an SE gate this conv carries the gate's 1/6 in its kernel (scaled at init and at transfer).
    init = keras.initializers.VarianceScaling(1.0 / 36.0 if se else 1.0, "fan_in", "truncated_normal")
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, kernel_initializer=init, name=prefix + "project")(x)
    x = _bn(prefix + "project/BatchNorm")(x)
    if stride == 1 and infilters == filters:
        x = layers.Add(name=prefix + "Add")([shortcut, x])
    return x


def mobilenetv3_features(inputs, size: str = "small", alpha: float = 1.0, minimalistic: bool = False) -> list:
    """Taps (the last tensor at each of 1/2 .. 1/32) of MobileNetV3-``size`` on ``inputs`` in [-1, 1]."""
    if size not in STACKS:
        raise UsageError(f"mobilenetv3 size: expected 'small' or 'large', got {size!r}")
    stem_act = "relu" if minimalistic else "hswish"
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="Conv")(inputs)
    x = _act(_bn("Conv/BatchNorm")(x), stem_act, "Conv/")
    taps = {2: x}
    for i, (e, f, k, s, se, act) in enumerate(STACKS[size]):
        k = (3 if minimalistic else 5) if k == "k" else k
        x = _block(x, e, make_divisible(f * alpha), k, s, se and not minimalistic, "relu" if minimalistic else act, i)
        taps[int(inputs.shape[1]) // int(x.shape[1])] = x
    return [taps[r] for r in (2, 4, 8, 16, 32)]


def transfer_imagenet(model: keras.Model, size: str, alpha: float, minimalistic: bool) -> int:
    """Copy ImageNet weights from Keras' application into ``model`` by layer name, applying the two SE
    folds; returns how many layers were set. Raises UsageError when the weights cannot be fetched."""
    builder = {"small": keras.applications.MobileNetV3Small, "large": keras.applications.MobileNetV3Large}[size]
    ref = keras_application(builder, keras.Input((224, 224, 3)), "imagenet", alpha=alpha, minimalistic=minimalistic, include_preprocessing=False)
    return copy_reference_weights(ref, model)


def copy_reference_weights(ref: keras.Model, model: keras.Model) -> int:
    """Weights of a Keras ``MobileNetV3*`` (``include_preprocessing=False``) into our rewrite of it."""
    ref_layers = {l.name: l for l in ref.layers}
    se_projects = {l.name.replace("squeeze_excite/Mul", "project") for l in model.layers if l.name.endswith("squeeze_excite/Mul")}
    n = 0
    for layer in model.layers:
        src = ref_layers.get(layer.name)
        if src is None or not src.get_weights():
            continue
        w = [np.array(a) for a in src.get_weights()]
        if layer.name.endswith("squeeze_excite/Conv_1"):
            w[1] = w[1] + 3.0  # hard_sigmoid(z) * 6 = relu6(z + 3)
        elif layer.name in se_projects:
            w[0] = w[0] / 6.0  # ... and the 1/6 moves into the projection
        layer.set_weights(w)
        n += 1
    return n
