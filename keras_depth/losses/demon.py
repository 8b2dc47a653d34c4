"""DeMoN's losses (Ummenhofer et al., CVPR 2017, Sec. 4): the scale-invariant gradient loss (Eq. 3-4),
and the per-output losses of the two-image ``demon_pair`` model (inverse depth, normals, motion).

The scale-invariant gradient loss:

``g_h(f)(i,j) = ((f(i+h,j) - f(i,j)) / (|f(i+h,j)| + |f(i,j)|),
                 (f(i,j+h) - f(i,j)) / (|f(i,j+h)| + |f(i,j)|))``
and ``L = sum_{h in {1,2,4,8,16}} sum_{i,j} || g_h(xi) - g_h(xi_hat) ||_2`` on inverse depth ``xi``.
Here ``i`` runs along the width and ``j`` along the height. A component counts only where both of
its pixels are valid and inside the image (otherwise it is 0 in both maps); denominators are floored
at 1e-6 so 0/0 cannot occur.
"""
from __future__ import annotations

from typing import Any, Sequence

import tensorflow as tf

from keras_depth.kerasapi import keras
from keras_depth.losses.base import EPS, PREDICTIONS, PackedTargetLoss, as_map, check_choice
from keras_depth.losses.ssi import disparity_inputs

DEMON_SPACINGS = (1, 2, 4, 8, 16)


def _discrete_gradient(f: tf.Tensor, w: tf.Tensor, h: int, axis: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Normalised difference ``f(. + h) - f(.)`` along ``axis`` (1: height, 2: width), full size, 0 where
    either pixel is invalid or outside the image; and the mask of where both pixels are valid."""
    pad = [[0, 0]] * 4
    pad[axis] = [0, h]
    shifted = tf.range(h, h + tf.shape(f)[axis])
    a = tf.gather(tf.pad(f, pad), shifted, axis=axis)
    both = tf.gather(tf.pad(w, pad), shifted, axis=axis) * w
    g = (a - f) / tf.maximum(tf.abs(a) + tf.abs(f), EPS) * both
    return g, both


def _safe_norm(sq: tf.Tensor) -> tf.Tensor:
    """sqrt with value 0 and gradient 0 at 0 (the plain sqrt has an infinite gradient there)."""
    pos = sq > 1e-24
    return tf.where(pos, tf.sqrt(tf.where(pos, sq, 1.0)), 0.0)


def scale_invariant_gradient_loss(
    target: Any,
    pred: Any,
    mask: Any = None,
    spacings: Sequence[int] = DEMON_SPACINGS,
    normalize: bool = True,
) -> tf.Tensor:
    """Eq. 4 on inverse depths ``target`` (xi) and ``pred`` (xi_hat), [B,H,W,1].

    ``normalize=False`` is the literal sum over pixels (and images); ``normalize=True`` divides each
    spacing's sum by its number of pixels with at least one valid component, so the value does not
    grow with resolution and batch size."""
    target, pred = as_map(target), as_map(pred)
    w = tf.ones_like(target) if mask is None else tf.cast(as_map(mask) > 0.5, tf.float32)
    target, pred = target * w, pred * w
    total = tf.constant(0.0)
    for h in spacings:
        gy_t, my = _discrete_gradient(target, w, h, axis=1)
        gx_t, mx = _discrete_gradient(target, w, h, axis=2)
        gy_p, _ = _discrete_gradient(pred, w, h, axis=1)
        gx_p, _ = _discrete_gradient(pred, w, h, axis=2)
        per_pixel = _safe_norm(tf.square(gx_p - gx_t) + tf.square(gy_p - gy_t))
        term = tf.reduce_sum(per_pixel)
        if normalize:
            term /= tf.maximum(tf.reduce_sum(tf.cast((mx + my) > 0, tf.float32)), 1.0)
        total += term
    return total


@keras.saving.register_keras_serializable(package="keras_depth")
class ScaleInvariantGradientLoss(PackedTargetLoss):
    """Keras wrapper of ``scale_invariant_gradient_loss``: the packed target becomes inverse depth as
    in ``ssi.disparity_inputs`` (affine-disparity targets are used as they are)."""

    config_keys = ("spacings", "normalize", "prediction")

    def __init__(
        self,
        spacings: Sequence[int] = DEMON_SPACINGS,
        normalize: bool = True,
        prediction: str = "depth",
        name: str = "scale_invariant_gradient",
        reduction: str = keras.losses.Reduction.AUTO,
    ):
        check_choice(f"{name} prediction", prediction, PREDICTIONS)
        super().__init__(name=name, reduction=reduction)
        self.spacings = [int(h) for h in spacings]
        self.normalize = bool(normalize)
        self.prediction = prediction

    def compute(self, depth, mask, semantics, y_pred):
        target, pred, w = disparity_inputs(depth, mask, semantics, y_pred, self.prediction)
        return scale_invariant_gradient_loss(target, pred, w, self.spacings, self.normalize)


# ---- the per-output losses of ``demon_pair`` (targets: ``keras_depth.training.demon_targets``) ----
def inverse_depth_l1(xi_true: tf.Tensor, xi_pred: tf.Tensor) -> tf.Tensor:
    """DeMoN's depth loss: L1 on the (scale-normalised) inverse depth, mean over pixels."""
    return tf.reduce_mean(tf.abs(xi_pred - xi_true))


def normal_l2(n_true: tf.Tensor, n_pred: tf.Tensor) -> tf.Tensor:
    """DeMoN's normal loss: Euclidean distance of the normal vectors, mean over pixels."""
    return tf.reduce_mean(tf.sqrt(tf.reduce_sum(tf.square(n_pred - n_true), axis=-1) + 1e-12))


def motion_l2(m_true: tf.Tensor, m_pred: tf.Tensor, rotation_weight: float = 1.0, translation_weight: float = 1.0) -> tf.Tensor:
    """DeMoN's motion losses: ||r - r*||_2 and ||t - t*||_2 (t unit length), weighted, batch mean."""
    r = tf.norm(m_pred[:, :3] - m_true[:, :3] + 1e-12, axis=-1)
    t = tf.norm(m_pred[:, 3:] - m_true[:, 3:] + 1e-12, axis=-1)
    return tf.reduce_mean(rotation_weight * r + translation_weight * t)


@keras.saving.register_keras_serializable(package="keras_depth")
class DemonDepthLoss(keras.losses.Loss):
    """L1 on inverse depth + weight x scale-invariant gradient loss (both on xi)."""

    def __init__(self, gradient_weight: float = 1.0, name: str = "demon_depth", **kwargs):
        super().__init__(name=name, **kwargs)
        self.gradient_weight = float(gradient_weight)

    def call(self, y_true, y_pred):
        return inverse_depth_l1(y_true, y_pred) + self.gradient_weight * scale_invariant_gradient_loss(y_true, y_pred)

    def get_config(self) -> dict:
        return {**super().get_config(), "gradient_weight": self.gradient_weight}


@keras.saving.register_keras_serializable(package="keras_depth")
class DemonNormalLoss(keras.losses.Loss):
    def __init__(self, name: str = "demon_normals", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return normal_l2(y_true, y_pred)


@keras.saving.register_keras_serializable(package="keras_depth")
class DemonMotionLoss(keras.losses.Loss):
    def __init__(self, rotation_weight: float = 1.0, translation_weight: float = 1.0, name: str = "demon_motion", **kwargs):
        super().__init__(name=name, **kwargs)
        self.rotation_weight, self.translation_weight = float(rotation_weight), float(translation_weight)

    def call(self, y_true, y_pred):
        return motion_l2(y_true, y_pred, self.rotation_weight, self.translation_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), "rotation_weight": self.rotation_weight, "translation_weight": self.translation_weight}
