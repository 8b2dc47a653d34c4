"""Monodepth's self-supervised stereo loss (Godard et al., CVPR 2017), in core TensorFlow.

Disparities follow Monodepth's convention: a FRACTION OF THE IMAGE WIDTH (a disparity of 0.1 on a
640-pixel-wide image is a 64-pixel shift), so the same value is valid at every pyramid scale. A
left disparity ``d^l`` says where each left pixel is found in the right image: ``x_r = x_l - d^l W``.

Terms per scale s (Eq. 1-3 and 7 of the paper, as in their released code):
- appearance: ``alpha (1 - SSIM)/2 + (1 - alpha) |I - I~|`` with 3x3 SSIM, alpha = 0.85;
- edge-aware smoothness: ``|dx d| e^{-|dx I|} + |dy d| e^{-|dy I|}``, divided by 2^s;
- left-right consistency: ``|d^l - d^r warped to the left|`` (and the mirrored right term).
Every term is computed for both views and summed over scales. An optional valid mask per view
(1 valid, 0 e.g. out of view) multiplies every term; means are over valid pixels.
"""
from __future__ import annotations

from typing import Any, Sequence

import tensorflow as tf

from keras_depth.kerasapi import keras
from keras_depth.losses.base import check_choice

WRAP_MODES = ("edge", "border")
STEREO_TARGET_CHANNELS = 8  # left RGB, right RGB, left mask, right mask


def bilinear_sampler_1d_h(images: Any, x_offset: Any, wrap_mode: str = "edge") -> tf.Tensor:
    """Sample ``images`` [B,H,W,C] at ``x + x_offset * W`` along each row (``x_offset`` [B,H,W,1] or
    [B,H,W], a fraction of the width), bilinearly; differentiable in images and offsets.

    Monodepth's ``bilinear_sampler_1d_h``: ``"edge"`` clamps the coordinate to [0, W-1] (the border
    pixel repeats, zero gradient outside); ``"border"`` pads one zero pixel on each side first."""
    check_choice("wrap_mode", wrap_mode, WRAP_MODES)
    images = tf.convert_to_tensor(images, tf.float32)
    x_offset = tf.convert_to_tensor(x_offset, tf.float32)
    if x_offset.shape.rank == 4:
        x_offset = x_offset[..., 0]
    width = tf.shape(images)[2]
    width_f = tf.cast(width, tf.float32)
    edge = 1 if wrap_mode == "border" else 0
    if edge:
        images = tf.pad(images, [[0, 0], [0, 0], [1, 1], [0, 0]])
    x = tf.range(width_f)[None, None, :] + x_offset * width_f + edge
    x = tf.clip_by_value(x, 0.0, width_f - 1.0 + 2 * edge)
    x0_f = tf.floor(x)
    x1_f = x0_f + 1.0
    x0 = tf.cast(x0_f, tf.int32)
    x1 = tf.cast(tf.minimum(x1_f, width_f - 1.0 + 2 * edge), tf.int32)
    pix_l = tf.gather(images, x0, axis=2, batch_dims=2)
    pix_r = tf.gather(images, x1, axis=2, batch_dims=2)
    # x1_f is not clamped, as in Monodepth: at the right border all the weight goes to pix_l.
    return (x1_f - x)[..., None] * pix_l + (x - x0_f)[..., None] * pix_r


def warp_right_to_left(right: Any, disp_left: Any, wrap_mode: str = "edge") -> tf.Tensor:
    """The left view reconstructed from the right image (Monodepth's ``generate_image_left``)."""
    return bilinear_sampler_1d_h(right, -as_4d(disp_left), wrap_mode)


def warp_left_to_right(left: Any, disp_right: Any, wrap_mode: str = "edge") -> tf.Tensor:
    """The right view reconstructed from the left image (Monodepth's ``generate_image_right``)."""
    return bilinear_sampler_1d_h(left, as_4d(disp_right), wrap_mode)


def as_4d(x: Any) -> tf.Tensor:
    x = tf.convert_to_tensor(x, tf.float32)
    return x[..., None] if x.shape.rank == 3 else x


def ssim_dissimilarity(x: Any, y: Any) -> tf.Tensor:
    """Monodepth's ``SSIM``: clip((1 - SSIM)/2, 0, 1) with 3x3 average pooling, VALID ([B,H-2,W-2,C])."""
    c1, c2 = 0.01**2, 0.03**2

    def pool(t: tf.Tensor) -> tf.Tensor:
        return tf.nn.avg_pool2d(t, 3, 1, "VALID")

    mu_x, mu_y = pool(x), pool(y)
    sigma_x = pool(x * x) - mu_x**2
    sigma_y = pool(y * y) - mu_y**2
    sigma_xy = pool(x * y) - mu_x * mu_y
    ssim_n = (2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)
    ssim_d = (mu_x**2 + mu_y**2 + c1) * (sigma_x + sigma_y + c2)
    return tf.clip_by_value((1 - ssim_n / ssim_d) / 2, 0.0, 1.0)


def _mean(x: tf.Tensor, m: tf.Tensor) -> tf.Tensor:
    """Mean over valid pixels (and channels); 0 with zero gradient when nothing is valid."""
    channels = tf.cast(tf.shape(x)[-1], tf.float32)
    return tf.reduce_sum(x * m) / tf.maximum(tf.reduce_sum(m) * channels, 1e-6)


def _min_pool3(m: tf.Tensor) -> tf.Tensor:
    """1 where the whole 3x3 window is valid (matches the VALID SSIM output)."""
    return -tf.nn.max_pool2d(-m, 3, 1, "VALID")


def appearance_loss(image: tf.Tensor, reconstructed: tf.Tensor, mask: tf.Tensor, alpha: float = 0.85) -> tf.Tensor:
    """``alpha * mean (1 - SSIM)/2 + (1 - alpha) * mean |I - I~|`` over valid pixels."""
    ssim = _mean(ssim_dissimilarity(reconstructed, image), _min_pool3(mask))
    l1 = _mean(tf.abs(reconstructed - image), mask)
    return alpha * ssim + (1 - alpha) * l1


def smoothness_loss(disp: tf.Tensor, image: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Edge-aware smoothness ``mean |dx d| e^{-mean_c |dx I|} + mean |dy d| e^{-mean_c |dy I|}``.

    Monodepth's released code averages only the x term (it slices the first 4 of the 8 concatenated
    x and y maps); the paper's Eq. 3 has both, and so does this."""
    dx_d = disp[:, :, :-1] - disp[:, :, 1:]
    dy_d = disp[:, :-1] - disp[:, 1:]
    wx = tf.exp(-tf.reduce_mean(tf.abs(image[:, :, :-1] - image[:, :, 1:]), axis=3, keepdims=True))
    wy = tf.exp(-tf.reduce_mean(tf.abs(image[:, :-1] - image[:, 1:]), axis=3, keepdims=True))
    mx = mask[:, :, :-1] * mask[:, :, 1:]
    my = mask[:, :-1] * mask[:, 1:]
    return _mean(tf.abs(dx_d) * wx, mx) + _mean(tf.abs(dy_d) * wy, my)


def _resize_like(x: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    size = tf.shape(like)[1:3]
    if x.shape[1:3] == like.shape[1:3] and x.shape[1] is not None:
        return x
    return tf.image.resize(x, size, method="area")


def stereo_loss(
    left: Any,
    right: Any,
    disp_left_pyramid: Any,
    disp_right_pyramid: Any,
    *,
    mask_left: Any = None,
    mask_right: Any = None,
    alpha: float = 0.85,
    smoothness_weight: float = 0.1,
    lr_weight: float = 1.0,
    wrap_mode: str = "edge",
) -> dict[str, tf.Tensor]:
    """Monodepth's total loss over the scales of the disparity pyramids.

    ``left``, ``right``: [B,H,W,C] images. ``disp_*_pyramid``: a list of [B,h_s,w_s,1] disparities
    (fractions of the width), finest first, or one tensor for a single scale; the images (and masks)
    are area-resized to each scale. ``mask_left``/``mask_right``: optional [B,H,W,1] valid masks.
    Returns ``{"total", "appearance", "smoothness", "lr"}`` (scalars; ``total = appearance +
    smoothness_weight * smoothness + lr_weight * lr``, Monodepth's defaults 0.85, 0.1, 1.0).
    """
    left = tf.convert_to_tensor(left, tf.float32)
    right = tf.convert_to_tensor(right, tf.float32)
    if not isinstance(disp_left_pyramid, (list, tuple)):
        disp_left_pyramid, disp_right_pyramid = [disp_left_pyramid], [disp_right_pyramid]
    if len(disp_left_pyramid) != len(disp_right_pyramid):
        raise ValueError(
            f"stereo_loss: expected pyramids of equal length, got {len(disp_left_pyramid)} and {len(disp_right_pyramid)}"
        )
    ones = tf.ones_like(left[..., :1])
    mask_left = ones if mask_left is None else as_4d(mask_left)
    mask_right = ones if mask_right is None else as_4d(mask_right)
    appearance = smoothness = lr = tf.constant(0.0)
    for s, (dl, dr) in enumerate(zip(disp_left_pyramid, disp_right_pyramid)):
        dl, dr = as_4d(dl), as_4d(dr)
        il, ir = _resize_like(left, dl), _resize_like(right, dl)
        ml, mr = _resize_like(mask_left, dl), _resize_like(mask_right, dl)
        left_est = warp_right_to_left(ir, dl, wrap_mode)
        right_est = warp_left_to_right(il, dr, wrap_mode)
        appearance += appearance_loss(il, left_est, ml, alpha) + appearance_loss(ir, right_est, mr, alpha)
        smoothness += (smoothness_loss(dl, il, ml) + smoothness_loss(dr, ir, mr)) / 2**s
        right_to_left_disp = warp_right_to_left(dr, dl, wrap_mode)
        left_to_right_disp = warp_left_to_right(dl, dr, wrap_mode)
        lr += _mean(tf.abs(right_to_left_disp - dl), ml) + _mean(tf.abs(left_to_right_disp - dr), mr)
    total = appearance + smoothness_weight * smoothness + lr_weight * lr
    return {"total": total, "appearance": appearance, "smoothness": smoothness, "lr": lr}


def pack_stereo_target(left: Any, right: Any, mask_left: Any = None, mask_right: Any = None) -> tf.Tensor:
    """``y_true`` for ``StereoLoss``: [B,H,W,8] = left RGB, right RGB, left mask, right mask."""
    left = tf.convert_to_tensor(left, tf.float32)
    ones = tf.ones_like(left[..., :1])
    ml = ones if mask_left is None else tf.cast(as_4d(mask_left), tf.float32)
    mr = ones if mask_right is None else tf.cast(as_4d(mask_right), tf.float32)
    return tf.concat([left, tf.convert_to_tensor(right, tf.float32), ml, mr], axis=-1)


def unpack_stereo_target(y_true: Any) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """-> left [B,H,W,3], right [B,H,W,3], mask_left, mask_right [B,H,W,1]."""
    y_true = tf.convert_to_tensor(y_true, tf.float32)
    return y_true[..., 0:3], y_true[..., 3:6], y_true[..., 6:7], y_true[..., 7:8]


def disparity_pyramid(disp: tf.Tensor, scales: int) -> list[tf.Tensor]:
    """``disp`` and its 2x, 4x, ... area-downsampled versions (disparity is width-relative, so the
    values need no rescaling)."""
    out = [disp]
    for _ in range(scales - 1):
        out.append(tf.nn.avg_pool2d(out[-1], 2, 2, "VALID"))
    return out


@keras.saving.register_keras_serializable(package="keras_depth")
class StereoLoss(keras.losses.Loss):
    """``stereo_loss`` for ``model.fit``.

    ``y_true``: ``pack_stereo_target(left, right, mask_left, mask_right)``, [B,H,W,8] (the left image
    is the model input, repeated here because a Keras loss does not see ``x``). ``y_pred``:
    [B,H,W,2], channel 0 the left disparity and channel 1 the right one, width fractions. With one
    full-resolution output the pyramid is built by 2x average pooling (``scales`` levels); a model
    with real multi-scale heads should call ``stereo_loss`` directly from its training wrapper.
    """

    def __init__(
        self,
        scales: int = 4,
        alpha: float = 0.85,
        smoothness_weight: float = 0.1,
        lr_weight: float = 1.0,
        wrap_mode: str = "edge",
        name: str = "stereo",
        reduction: str = keras.losses.Reduction.AUTO,
    ):
        check_choice("stereo wrap_mode", wrap_mode, WRAP_MODES)
        super().__init__(name=name, reduction=reduction)
        self.scales = int(scales)
        self.alpha = float(alpha)
        self.smoothness_weight = float(smoothness_weight)
        self.lr_weight = float(lr_weight)
        self.wrap_mode = wrap_mode

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        left, right, mask_left, mask_right = unpack_stereo_target(y_true)
        y_pred = tf.convert_to_tensor(y_pred, tf.float32)
        terms = stereo_loss(
            left,
            right,
            disparity_pyramid(y_pred[..., 0:1], self.scales),
            disparity_pyramid(y_pred[..., 1:2], self.scales),
            mask_left=mask_left,
            mask_right=mask_right,
            alpha=self.alpha,
            smoothness_weight=self.smoothness_weight,
            lr_weight=self.lr_weight,
            wrap_mode=self.wrap_mode,
        )
        return terms["total"]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            scales=self.scales,
            alpha=self.alpha,
            smoothness_weight=self.smoothness_weight,
            lr_weight=self.lr_weight,
            wrap_mode=self.wrap_mode,
        )
        return config


__all__: Sequence[str] = (
    "StereoLoss",
    "appearance_loss",
    "bilinear_sampler_1d_h",
    "disparity_pyramid",
    "pack_stereo_target",
    "smoothness_loss",
    "ssim_dissimilarity",
    "stereo_loss",
    "unpack_stereo_target",
    "warp_left_to_right",
    "warp_right_to_left",
)
