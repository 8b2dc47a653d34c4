"""MiDaS scale-and-shift-invariant losses on disparity (Ranftl et al., TPAMI 2020, Sec. 5).

All pure functions here work in disparity space on ``target``, ``pred`` and ``mask``
([B,H,W,1] or [B,H,W]); ``disparity_inputs`` turns a packed target and a model output into that
space: metric and relative targets become ``1/D`` on valid pixels, affine-disparity targets are used
as they are, and a depth prediction becomes ``1/D_hat`` (``prediction="disparity"`` takes it as is).

Reductions are MiDaS's "batch-based" one: the sum of per-image errors over the sum of valid pixels
(with the paper's 1/(2M) for the data terms). A batch without a valid pixel gives 0.
"""
from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_depth.kerasapi import keras
from keras_depth.losses.base import EPS, PREDICTIONS, PackedTargetLoss, as_map, check_choice, prediction_as_disparity, sanitize
from keras_depth.spec import AFFINE_DISPARITY

SSI_KINDS = ("lstsq", "median", "trim")
# Positions of invalid pixels when sorting valid values to the front (larger than any disparity).
_SORT_FILL = 3.0e38


def disparity_inputs(
    depth: tf.Tensor, mask: tf.Tensor, semantics: tf.Tensor, y_pred: tf.Tensor, prediction: str = "depth"
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """-> (target disparity, predicted disparity, valid weights), all [B,H,W,1], 0 where invalid.

    Metric/relative targets: valid where the mask is set and depth is finite and > 0, disparity 1/D.
    Affine-disparity targets: valid where the mask is set and the value is finite (0 is a valid
    disparity, e.g. sky)."""
    check_choice("prediction", prediction, PREDICTIONS)
    depth, y_pred = as_map(depth), as_map(y_pred)
    is_disp = tf.reshape(tf.equal(tf.cast(semantics, tf.int32), AFFINE_DISPARITY), [-1, 1, 1, 1])
    finite = tf.math.is_finite(depth) & (as_map(mask) > 0.5)
    valid = finite & (is_disp | (depth > 0))
    w = tf.cast(valid, tf.float32)
    safe = sanitize(depth, w)
    target = sanitize(tf.where(is_disp, safe, 1.0 / safe), w, 0.0)
    pred = prediction_as_disparity(y_pred, prediction)
    return target, sanitize(pred, w, 0.0), w


def _image_sum(x: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(x, axis=[1, 2, 3])


def _batch_reduce(image_loss: tf.Tensor, m: tf.Tensor) -> tf.Tensor:
    """MiDaS reduction_batch_based: sum(image_loss) / sum(M), 0 when the batch has no valid pixel."""
    return tf.reduce_sum(image_loss) / tf.maximum(tf.reduce_sum(m), 1.0)


def compute_scale_and_shift(target: Any, pred: Any, mask: Any) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-image least squares ``(s, t) = argmin sum_i m_i (s p_i + t - d_i)^2`` (Eq. 4), [B] each.

    The solution of the 2x2 normal equations, written in centred form (the same solution, but
    float32 does not cancel ``a00 a11 - a01^2`` catastrophically). Where the system is singular
    (no valid pixel, or a constant prediction) s = t = 0, as in the authors' code.
    """
    target, pred, w = as_map(target), as_map(pred), as_map(mask)
    n = _image_sum(w)
    n_safe = tf.maximum(n, 1.0)[:, None, None, None]
    mean_p = _image_sum(w * pred)[:, None, None, None] / n_safe
    mean_t = _image_sum(w * target)[:, None, None, None] / n_safe
    var_p = _image_sum(w * tf.square(pred - mean_p))
    cov = _image_sum(w * (pred - mean_p) * (target - mean_t))
    ok = var_p > 1e-10 * tf.maximum(_image_sum(w * tf.square(pred)), 1e-30)
    s = tf.where(ok, cov / tf.where(ok, var_p, 1.0), 0.0)
    t = tf.where(ok, mean_t[:, 0, 0, 0] - s * mean_p[:, 0, 0, 0], 0.0)
    return s, t


def align_lstsq(target: Any, pred: Any, mask: Any) -> tf.Tensor:
    """The prediction after the per-image least-squares scale and shift."""
    s, t = compute_scale_and_shift(target, pred, mask)
    return s[:, None, None, None] * as_map(pred) + t[:, None, None, None]


def masked_median(x: Any, mask: Any) -> tf.Tensor:
    """Per-image median over valid pixels ([B]; mean of the two middle values for an even count,
    as np.median; 0 for an image without a valid pixel)."""
    x, w = as_map(x), as_map(mask)
    b = tf.shape(x)[0]
    flat = tf.reshape(tf.where(w > 0, x, _SORT_FILL), [b, -1])
    ordered = tf.sort(flat, axis=1)
    n = tf.cast(_image_sum(w), tf.int32)
    lo = tf.maximum((n - 1) // 2, 0)
    hi = n // 2
    mid = 0.5 * (tf.gather(ordered, lo, batch_dims=1) + tf.gather(ordered, hi, batch_dims=1))
    return tf.where(n > 0, mid, 0.0)


def normalize_median(x: Any, mask: Any) -> tf.Tensor:
    """Eq. 6-7: ``(d - t(d)) / s(d)`` with ``t = median(d)`` and ``s = mean|d - t|`` over valid pixels."""
    x, w = as_map(x), as_map(mask)
    t = masked_median(x, w)[:, None, None, None]
    s = _image_sum(w * tf.abs(x - t)) / tf.maximum(_image_sum(w), 1.0)
    return (x - t) / tf.maximum(s, EPS)[:, None, None, None] * w


def ssi_lstsq_loss(target: Any, pred: Any, mask: Any) -> tf.Tensor:
    """SSI-MSE (Eq. 4 alignment, MiDaS ``ScaleAndShiftInvariantLoss`` data term):
    ``sum_images sum_i m_i (s p_i + t - d_i)^2 / (2 sum M)``."""
    target, w = as_map(target), as_map(mask)
    res = align_lstsq(target, pred, w) - target
    return _batch_reduce(_image_sum(w * tf.square(res)), 2.0 * _image_sum(w))


def ssi_median_loss(target: Any, pred: Any, mask: Any) -> tf.Tensor:
    """ssimae (Eq. 5-7): ``sum |d_hat - d_hat*| / (2M)`` on median/mean-abs normalised disparities."""
    w = as_map(mask)
    res = normalize_median(pred, w) - normalize_median(target, w)
    return _batch_reduce(_image_sum(w * tf.abs(res)), 2.0 * _image_sum(w))


def ssi_trim_loss(target: Any, pred: Any, mask: Any, trim: float = 0.2) -> tf.Tensor:
    """ssitrim (Eq. 8): as ssimae, but per image only the ``floor((1 - trim) M)`` smallest absolute
    residuals are summed (the normaliser stays 2M, as in the paper)."""
    w = as_map(mask)
    res = tf.abs(normalize_median(pred, w) - normalize_median(target, w))
    b = tf.shape(res)[0]
    ordered = tf.sort(tf.reshape(tf.where(w > 0, res, _SORT_FILL), [b, -1]), axis=1)
    m = _image_sum(w)
    keep = tf.floor(m * (1.0 - trim) + 1e-4)
    rank = tf.cast(tf.range(tf.shape(ordered)[1]), tf.float32)[None, :]
    kept = rank < keep[:, None]
    image_loss = tf.reduce_sum(tf.where(kept, ordered, 0.0), axis=1)
    return _batch_reduce(image_loss, 2.0 * m)


def gradient_matching_loss(residual: Any, mask: Any, scales: int = 4) -> tf.Tensor:
    """Multi-scale gradient matching (Eq. 11), MiDaS ``GradientLoss``: at scale k the residual
    ``R = aligned prediction - target`` and the mask are subsampled by taking every 2^k-th pixel;
    ``|dx R| + |dy R|`` counts where both neighbours are valid; each scale is divided by its number
    of valid pixels (batch-based) and the scales are summed."""
    residual, w = as_map(residual), as_map(mask)
    total = tf.constant(0.0)
    for k in range(scales):
        step = 2**k
        r = residual[:, ::step, ::step] * w[:, ::step, ::step]
        m = w[:, ::step, ::step]
        gx = tf.abs(r[:, :, 1:] - r[:, :, :-1]) * m[:, :, 1:] * m[:, :, :-1]
        gy = tf.abs(r[:, 1:] - r[:, :-1]) * m[:, 1:] * m[:, :-1]
        total += _batch_reduce(_image_sum(gx) + _image_sum(gy), _image_sum(m))
    return total


def aligned_residual(target: Any, pred: Any, mask: Any, ssi: str = "lstsq") -> tf.Tensor:
    """``R = d_hat - d_hat*``: least-squares aligned prediction minus target (``ssi="lstsq"``), or
    the difference of the median/mean-abs normalised maps (``"median"``, ``"trim"``)."""
    check_choice("ssi", ssi, SSI_KINDS)
    target, w = as_map(target), as_map(mask)
    if ssi == "lstsq":
        return (align_lstsq(target, pred, w) - target) * w
    return normalize_median(pred, w) - normalize_median(target, w)


def ssi_gm_loss(
    target: Any, pred: Any, mask: Any, ssi: str = "lstsq", alpha: float = 0.5, scales: int = 4, trim: float = 0.2
) -> tf.Tensor:
    """SSI data term plus ``alpha`` times gradient matching on the same aligned residual (Eq. 12;
    with the defaults, the authors' public ``ScaleAndShiftInvariantLoss``)."""
    check_choice("ssi", ssi, SSI_KINDS)
    if ssi == "lstsq":
        data = ssi_lstsq_loss(target, pred, mask)
    elif ssi == "median":
        data = ssi_median_loss(target, pred, mask)
    else:
        data = ssi_trim_loss(target, pred, mask, trim)
    if alpha <= 0:
        return data
    return data + alpha * gradient_matching_loss(aligned_residual(target, pred, mask, ssi), mask, scales)


class _DisparityLoss(PackedTargetLoss):
    """Packed target and a depth (or disparity) output, converted with ``disparity_inputs``."""

    config_keys = ("prediction",)

    def __init__(self, prediction: str, name: str, reduction: str) -> None:
        check_choice(f"{name} prediction", prediction, PREDICTIONS)
        super().__init__(name=name, reduction=reduction)
        self.prediction = prediction

    def compute(self, depth, mask, semantics, y_pred):
        target, pred, w = disparity_inputs(depth, mask, semantics, y_pred, self.prediction)
        return self.disparity_loss(target, pred, w)

    def disparity_loss(self, target: tf.Tensor, pred: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError


@keras.saving.register_keras_serializable(package="keras_depth")
class SSILstsqLoss(_DisparityLoss):
    """Keras wrapper of ``ssi_lstsq_loss``."""

    def __init__(self, prediction: str = "depth", name: str = "ssi_lstsq", reduction: str = keras.losses.Reduction.AUTO):
        super().__init__(prediction, name, reduction)

    def disparity_loss(self, target, pred, w):
        return ssi_lstsq_loss(target, pred, w)


@keras.saving.register_keras_serializable(package="keras_depth")
class SSIMedianLoss(_DisparityLoss):
    """Keras wrapper of ``ssi_median_loss`` (ssimae)."""

    def __init__(self, prediction: str = "depth", name: str = "ssi_median", reduction: str = keras.losses.Reduction.AUTO):
        super().__init__(prediction, name, reduction)

    def disparity_loss(self, target, pred, w):
        return ssi_median_loss(target, pred, w)


@keras.saving.register_keras_serializable(package="keras_depth")
class SSITrimLoss(_DisparityLoss):
    """Keras wrapper of ``ssi_trim_loss`` (ssitrim)."""

    config_keys = ("trim", "prediction")

    def __init__(
        self,
        trim: float = 0.2,
        prediction: str = "depth",
        name: str = "ssi_trim",
        reduction: str = keras.losses.Reduction.AUTO,
    ):
        super().__init__(prediction, name, reduction)
        self.trim = float(trim)

    def disparity_loss(self, target, pred, w):
        return ssi_trim_loss(target, pred, w, self.trim)


@keras.saving.register_keras_serializable(package="keras_depth")
class GradientMatchingLoss(_DisparityLoss):
    """Keras wrapper of ``gradient_matching_loss`` on ``aligned_residual(..., ssi)``."""

    config_keys = ("ssi", "scales", "prediction")

    def __init__(
        self,
        ssi: str = "lstsq",
        scales: int = 4,
        prediction: str = "depth",
        name: str = "gradient_matching",
        reduction: str = keras.losses.Reduction.AUTO,
    ):
        check_choice("gradient_matching ssi", ssi, SSI_KINDS)
        super().__init__(prediction, name, reduction)
        self.ssi = ssi
        self.scales = int(scales)

    def disparity_loss(self, target, pred, w):
        return gradient_matching_loss(aligned_residual(target, pred, w, self.ssi), w, self.scales)


@keras.saving.register_keras_serializable(package="keras_depth")
class SSIGMLoss(_DisparityLoss):
    """Keras wrapper of ``ssi_gm_loss``."""

    config_keys = ("ssi", "alpha", "scales", "trim", "prediction")

    def __init__(
        self,
        ssi: str = "lstsq",
        alpha: float = 0.5,
        scales: int = 4,
        trim: float = 0.2,
        prediction: str = "depth",
        name: str = "ssi_gm",
        reduction: str = keras.losses.Reduction.AUTO,
    ):
        check_choice("ssi_gm ssi", ssi, SSI_KINDS)
        super().__init__(prediction, name, reduction)
        self.ssi = ssi
        self.alpha = float(alpha)
        self.scales = int(scales)
        self.trim = float(trim)

    def disparity_loss(self, target, pred, w):
        return ssi_gm_loss(target, pred, w, self.ssi, self.alpha, self.scales, self.trim)
