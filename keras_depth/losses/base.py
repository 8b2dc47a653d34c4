"""What every supervised depth loss shares: the masked mean and the packed-target Loss base class."""
from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras
from keras_depth.packed_target import unpack_target

PREDICTIONS = ("depth", "disparity", "log_depth")  # keras_depth.spec.OUTPUT_KINDS
# Floor for a depth or disparity before log or reciprocal; keeps values and gradients finite.
EPS = 1e-6


def prediction_as_depth(y_pred: tf.Tensor, prediction: str) -> tf.Tensor:
    """A model output as depth: itself, ``1 / max(y, EPS)`` for disparity, ``exp(y)`` for log depth."""
    if prediction == "depth":
        return y_pred
    if prediction == "log_depth":
        return tf.exp(y_pred)
    return 1.0 / tf.maximum(y_pred, EPS)


def prediction_as_disparity(y_pred: tf.Tensor, prediction: str) -> tf.Tensor:
    """A model output as disparity: itself, ``1 / max(y, EPS)`` for depth, ``exp(-y)`` for log depth."""
    if prediction == "disparity":
        return y_pred
    if prediction == "log_depth":
        return tf.exp(-y_pred)
    return 1.0 / tf.maximum(y_pred, EPS)


def as_map(x: Any) -> tf.Tensor:
    """float32 [B,H,W,1] from [B,H,W,1] or [B,H,W]."""
    x = tf.convert_to_tensor(x, tf.float32)
    if x.shape.rank == 3:
        x = x[..., None]
    return x


def valid_weights(target: tf.Tensor, mask: tf.Tensor | None) -> tf.Tensor:
    """1.0 where the mask is valid and the target is finite and > 0, else 0.0 ([B,H,W,1])."""
    valid = tf.math.is_finite(target) & (target > 0)
    if mask is not None:
        valid &= as_map(mask) > 0.5
    return tf.cast(valid, tf.float32)


def sanitize(x: tf.Tensor, w: tf.Tensor, fill: float = 1.0) -> tf.Tensor:
    """``x`` where ``w`` is 1, ``fill`` elsewhere: invalid pixels never reach a log or a division,
    so their (zero) gradient cannot turn into 0 * inf = NaN."""
    return tf.where(w > 0, x, tf.fill(tf.shape(x), tf.constant(fill, x.dtype)))


def masked_mean(x: tf.Tensor, w: tf.Tensor, axis: Any = None) -> tf.Tensor:
    """Mean of ``x`` over pixels with ``w`` = 1; 0 where there are none."""
    return tf.reduce_sum(x * w, axis=axis) / tf.maximum(tf.reduce_sum(w, axis=axis), 1.0)


def check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise UsageError(f"{name}: expected one of {choices}, got {value!r}")


class PackedTargetLoss(keras.losses.Loss):
    """A Keras Loss over the packed ``y_true`` ([B,H,W,3], ``keras_depth.packed_target``).

    Subclasses implement ``compute(depth, mask, semantics, y_pred)`` and list their constructor
    arguments in ``config_keys`` (kept as attributes, returned by ``get_config``).
    """

    config_keys: tuple[str, ...] = ()

    def __init__(self, name: str, reduction: str = keras.losses.Reduction.AUTO) -> None:
        super().__init__(name=name, reduction=reduction)

    def compute(self, depth: tf.Tensor, mask: tf.Tensor, semantics: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        depth, mask, semantics = unpack_target(y_true)
        return self.compute(depth, mask, semantics, as_map(y_pred))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({k: getattr(self, k) for k in self.config_keys})
        return config
