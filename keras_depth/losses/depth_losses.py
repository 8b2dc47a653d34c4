"""Per-pixel supervised depth losses: L2, L1, relative L1, log-L1, scale-invariant log (SILog) and BerHu.

Pure functions take ``target``, ``pred`` (depth, [B,H,W,1] or [B,H,W]) and an optional ``mask``;
a pixel counts where the mask is valid and the target is finite and > 0. Means are over valid
pixels of the batch; a batch without a valid pixel gives 0 with zero (finite) gradients.
The Loss classes take the packed ``y_true`` and a depth ``y_pred`` (``prediction="disparity"``
converts a disparity output with 1/d first). They treat channel 0 as metric depth whatever the
sample's semantics; use the SSI losses for relative or affine-disparity samples.
"""
from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_depth.kerasapi import keras
from keras_depth.losses.base import (
    EPS,
    PREDICTIONS,
    PackedTargetLoss,
    as_map,
    check_choice,
    masked_mean,
    prediction_as_depth,
    sanitize,
    valid_weights,
)

SILOG_VARIANTS = ("eigen", "bts")


def _prepare(target: Any, pred: Any, mask: Any) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    target, pred = as_map(target), as_map(pred)
    w = valid_weights(target, mask)
    return sanitize(target, w), sanitize(pred, w), w


def l2_loss(target: Any, pred: Any, mask: Any = None) -> tf.Tensor:
    """mean (D - D_hat)^2 over valid pixels."""
    target, pred, w = _prepare(target, pred, mask)
    return masked_mean(tf.square(pred - target), w)


def l1_loss(target: Any, pred: Any, mask: Any = None) -> tf.Tensor:
    """mean |D - D_hat| over valid pixels."""
    target, pred, w = _prepare(target, pred, mask)
    return masked_mean(tf.abs(pred - target), w)


def rel_l1_loss(target: Any, pred: Any, mask: Any = None) -> tf.Tensor:
    """mean |D - D_hat| / D over valid pixels: the AbsRel metric as a loss.

    Under uncertainty its optimum is the posterior median weighted by 1/D, below the log-space median
    that log-L1 and SILog aim for: it trades a little delta1 for AbsRel."""
    target, pred, w = _prepare(target, pred, mask)
    return masked_mean(tf.abs(pred - target) / tf.maximum(target, EPS), w)


def log_l1_loss(target: Any, pred: Any, mask: Any = None) -> tf.Tensor:
    """mean |log D - log D_hat| over valid pixels (predictions floored at 1e-6)."""
    target, pred, w = _prepare(target, pred, mask)
    return masked_mean(tf.abs(tf.math.log(tf.maximum(pred, EPS)) - tf.math.log(target)), w)


def silog_loss(
    target: Any,
    pred: Any,
    mask: Any = None,
    lam: float = 0.85,
    variant: str = "eigen",
    per_image: bool = True,
) -> tf.Tensor:
    """Eigen et al. 2014, Eq. 4: with d = log D_hat - log D over n valid pixels,
    ``(1/n) sum d^2 - lam (1/n^2) (sum d)^2``; ``variant="bts"`` returns ``10 sqrt(.)`` (Lee et al.,
    BTS 2019). Computed per image and averaged over images with a valid pixel (``per_image=False``
    pools the batch, as BTS's code does). Exactly scale-invariant for ``lam=1``.
    """
    check_choice("silog variant", variant, SILOG_VARIANTS)
    target, pred, w = _prepare(target, pred, mask)
    d = tf.math.log(tf.maximum(pred, EPS)) - tf.math.log(target)
    if not per_image:
        d, w = tf.reshape(d, [1, -1]), tf.reshape(w, [1, -1])
    axes = tf.range(1, tf.rank(d))
    n = tf.reduce_sum(w, axis=axes)
    mean_sq = masked_mean(tf.square(d), w, axis=axes)
    mean = masked_mean(d, w, axis=axes)
    per = mean_sq - lam * tf.square(mean)
    if variant == "bts":
        # The floor keeps the gradient of sqrt finite at a perfect prediction.
        per = 10.0 * tf.sqrt(tf.maximum(per, EPS**2))
    has = tf.cast(n > 0, tf.float32)
    return tf.reduce_sum(per * has) / tf.maximum(tf.reduce_sum(has), 1.0)


def berhu_loss(target: Any, pred: Any, mask: Any = None, threshold: float = 0.2) -> tf.Tensor:
    """Reverse Huber (Laina et al. 2016, Eq. 1): ``|r|`` for ``|r| <= c``, else ``(r^2 + c^2)/(2c)``,
    with ``c = threshold * max |r|`` over the batch's valid pixels (held constant for the gradient)."""
    target, pred, w = _prepare(target, pred, mask)
    r = tf.abs(pred - target) * w
    c = tf.maximum(threshold * tf.stop_gradient(tf.reduce_max(r)), EPS)
    per = tf.where(r <= c, r, (tf.square(r) + tf.square(c)) / (2.0 * c))
    return masked_mean(per, w)


def to_depth(y_pred: tf.Tensor, prediction: str) -> tf.Tensor:
    """The model output as depth ("disparity" outputs are inverted, floored at 1e-6; "log_depth" exp'd)."""
    return prediction_as_depth(y_pred, prediction)


class _PixelLoss(PackedTargetLoss):
    """A pure ``pixel_loss(target, pred, mask)`` over the depth channel of the packed target."""

    config_keys = ("prediction",)
    pixel_loss = None  # staticmethod(l1_loss) etc. in the subclasses that need no extra arguments

    def __init__(self, prediction: str = "depth", name: str = "", reduction: str = keras.losses.Reduction.AUTO):
        check_choice(f"{name} prediction", prediction, PREDICTIONS)
        super().__init__(name=name, reduction=reduction)
        self.prediction = prediction

    def compute(self, depth, mask, semantics, y_pred):
        return self.pixel_loss(depth, to_depth(y_pred, self.prediction), mask)


@keras.saving.register_keras_serializable(package="keras_depth")
class L2Loss(_PixelLoss):
    """Keras wrapper of ``l2_loss``."""

    pixel_loss = staticmethod(l2_loss)

    def __init__(self, prediction: str = "depth", name: str = "l2", reduction: str = keras.losses.Reduction.AUTO):
        super().__init__(prediction=prediction, name=name, reduction=reduction)


@keras.saving.register_keras_serializable(package="keras_depth")
class L1Loss(_PixelLoss):
    """Keras wrapper of ``l1_loss``."""

    pixel_loss = staticmethod(l1_loss)

    def __init__(self, prediction: str = "depth", name: str = "l1", reduction: str = keras.losses.Reduction.AUTO):
        super().__init__(prediction=prediction, name=name, reduction=reduction)


@keras.saving.register_keras_serializable(package="keras_depth")
class RelL1Loss(_PixelLoss):
    """Keras wrapper of ``rel_l1_loss``."""

    pixel_loss = staticmethod(rel_l1_loss)

    def __init__(self, prediction: str = "depth", name: str = "rel_l1", reduction: str = keras.losses.Reduction.AUTO):
        super().__init__(prediction=prediction, name=name, reduction=reduction)


@keras.saving.register_keras_serializable(package="keras_depth")
class LogL1Loss(_PixelLoss):
    """Keras wrapper of ``log_l1_loss``."""

    pixel_loss = staticmethod(log_l1_loss)

    def __init__(self, prediction: str = "depth", name: str = "log_l1", reduction: str = keras.losses.Reduction.AUTO):
        super().__init__(prediction=prediction, name=name, reduction=reduction)


@keras.saving.register_keras_serializable(package="keras_depth")
class SILogLoss(_PixelLoss):
    """Keras wrapper of ``silog_loss``."""

    config_keys = ("lam", "variant", "per_image", "prediction")

    def __init__(
        self,
        lam: float = 0.85,
        variant: str = "eigen",
        per_image: bool = True,
        prediction: str = "depth",
        name: str = "silog",
        reduction: str = keras.losses.Reduction.AUTO,
    ):
        check_choice("silog variant", variant, SILOG_VARIANTS)
        super().__init__(prediction=prediction, name=name, reduction=reduction)
        self.lam = float(lam)
        self.variant = variant
        self.per_image = bool(per_image)

    def compute(self, depth, mask, semantics, y_pred):
        return silog_loss(
            depth, to_depth(y_pred, self.prediction), mask, self.lam, self.variant, self.per_image
        )


@keras.saving.register_keras_serializable(package="keras_depth")
class BerHuLoss(_PixelLoss):
    """Keras wrapper of ``berhu_loss``."""

    config_keys = ("threshold", "prediction")

    def __init__(
        self,
        threshold: float = 0.2,
        prediction: str = "depth",
        name: str = "berhu",
        reduction: str = keras.losses.Reduction.AUTO,
    ):
        super().__init__(prediction=prediction, name=name, reduction=reduction)
        self.threshold = float(threshold)

    def compute(self, depth, mask, semantics, y_pred):
        return berhu_loss(depth, to_depth(y_pred, self.prediction), mask, self.threshold)
