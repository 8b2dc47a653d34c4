"""The training twin: ``train.precision`` (mixed bfloat16/float16) and ``train.jit_compile`` (XLA).

Either one trains a *twin* of the flat inference model rather than the model itself:

- the twin is a clone whose layers compute in the policy's dtype (variables stay float32) except the
  output tail (the last trainable layer, i.e. the head's logits conv, and everything after it), which
  computes in float32, so the losses and the metrics see a float32 prediction;
- under XLA, nearest x2 upsampling is a ``tf.repeat`` in the twin: TensorFlow has no XLA kernel for
  ``ResizeNearestNeighborGrad`` (the gradient of ``UpSampling2D(interpolation="nearest")``), which is
  what made ``jit_compile`` fail on the default graph; a repeat is the same function with an
  XLA-friendly gradient (a reshape and a sum);
- under XLA only the forward pass, the loss and the optimizer step are compiled: the training metrics
  (``keras_depth.metrics``) run the one numpy implementation through ``tf.numpy_function``, which
  XLA cannot compile, so they update outside the compiled function, from its prediction.

The twin's weights are copied into the float32 model at every epoch's end (``CopyWeights``), so
checkpoints, image summaries and the saved ``model.keras`` are always the float32 inference model
that QAT and TFLite export expect. ``precision_policy`` resets Keras' global policy to float32 on
exit, so later stages in the same process (QAT, export, tests) are unaffected.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Optional

import tensorflow as tf

from keras_depth.config_ranges import PRECISIONS
from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras, layers

__all__ = ["PRECISIONS", "CopyWeights", "RepeatUpsampling", "XlaTrainStep", "needs_twin", "precision_policy",
           "resolve_precision", "training_twin"]


def resolve_precision(train_cfg) -> str:
    """``train.precision``, with the older ``train.mixed_precision: true`` read as ``mixed_float16``."""
    precision = train_cfg.precision
    if precision not in PRECISIONS:  # config_ranges.validate refuses it when a config loads
        raise UsageError(f"config key 'train.precision': expected one of {', '.join(PRECISIONS)}, got {precision!r}")
    return "mixed_float16" if train_cfg.mixed_precision else precision


def needs_twin(precision: str, jit_compile: bool) -> bool:
    return precision != "float32" or bool(jit_compile)


@contextlib.contextmanager
def precision_policy() -> Iterator[None]:
    """Keras' global dtype policy float32 on entry (the inference model is built in it) and again on
    exit, even on error; the block sets the training precision after building that model."""
    keras.mixed_precision.set_global_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


@keras.saving.register_keras_serializable(package="keras_depth")
class RepeatUpsampling(layers.Layer):
    """Nearest upsampling by integer factors as ``tf.repeat``: equal to ``UpSampling2D(nearest)``,
    with a gradient that XLA compiles (training twins only; never saved or exported)."""

    def __init__(self, size=(2, 2), **kwargs):
        super().__init__(**kwargs)
        self.size = tuple(int(s) for s in size)

    def call(self, x):
        return tf.repeat(tf.repeat(x, self.size[0], axis=1), self.size[1], axis=2)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class XlaTrainStep(keras.Model):
    """A functional model whose ``train_step`` compiles forward, loss and update with XLA, and updates
    the (numpy) metrics outside the compiled function."""

    _xla_step: Optional[tf.types.experimental.GenericFunction] = None

    def _forward_backward(self, x, y, sample_weight):
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        self.optimizer.minimize(loss, self.trainable_variables, tape=tape)
        return y_pred

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if self._xla_step is None:
            self._xla_step = tf.function(self._forward_backward, jit_compile=True, reduce_retracing=True)
        y_pred = self._xla_step(x, y, sample_weight)
        return self.compute_metrics(x, y, y_pred, sample_weight)


def _float32_tail(model: keras.Model) -> set[str]:
    """Names of the last layer with trainable weights and every layer after it (topological order)."""
    names = [l.name for l in model.layers]
    last = max((i for i, l in enumerate(model.layers) if l.trainable_weights), default=len(names) - 1)
    return set(names[last:])


def training_twin(model: keras.Model, precision: str, jit_compile: bool) -> keras.Model:
    """The clone of ``model`` that trains (see module docstring), holding ``model``'s weights. Call it
    with Keras' global policy set to ``precision`` (inside ``precision_policy()``), so the twin and
    Keras' loss scaling for mixed_float16 pick it up."""
    tail = _float32_tail(model)

    def clone(layer):
        config = layer.get_config()
        config["dtype"] = "float32" if layer.name in tail else precision
        if (jit_compile and isinstance(layer, layers.UpSampling2D) and layer.interpolation == "nearest"):
            return RepeatUpsampling(layer.size, name=layer.name, dtype=config["dtype"])
        return layer.__class__.from_config(config)

    clone_model = keras.models.clone_model(model, clone_function=clone)
    twin_cls = XlaTrainStep if jit_compile else keras.Model
    twin = twin_cls(clone_model.inputs, clone_model.outputs, name=model.name)
    twin.set_weights(model.get_weights())
    return twin


class CopyWeights(keras.callbacks.Callback):
    """At every epoch's end (before the checkpoint and summary callbacks), the twin's weights into the
    float32 inference model."""

    def __init__(self, target: keras.Model):
        super().__init__()
        self.target = target

    def copy(self) -> None:
        self.target.set_weights(self.model.get_weights())

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        self.copy()

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        self.copy()
