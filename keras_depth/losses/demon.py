"""DeMoN's scale-invariant gradient loss (Ummenhofer et al., CVPR 2017, Eq. 3-4).

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
