"""Augmentation of raw samples (docs/contracts.md section 1), applied consistently to image, depth and mask.

Every function takes and returns the raw-sample dict, is made of TensorFlow ops, and works both
eagerly and inside ``tf.data.Dataset.map``. Geometry follows the data: depth and mask are resampled
with nearest neighbour (or a masked average), so an interpolated depth never mixes a foreground and a
background value, and a pixel is valid only where a valid source pixel landed. Intrinsics (fx, fy, cx,
cy with pixel centres at ``j + 0.5``; -1 = unknown) follow every crop, resize and flip.

Stereo pairs carry, besides the contract keys (the left view), ``image_right``, ``depth_right``,
``mask_right``, ``intrinsics_right`` and ``baseline``. A flip swaps left and right and flips both, as
Monodepth does (Godard et al., CVPR 2017, Sec. 3.5), so the left view stays the left view.

Randomness (``seed``):
- ``None``: fresh random draws on every call (also per element inside ``Dataset.map``);
- an int or a shape-[2] integer tensor: stateless and reproducible -- the same seed gives the same
  augmentation. Inside ``Dataset.map`` pass a different seed per element, e.g. a shape-[2] draw
  from ``tf.data.Dataset.random`` zipped with the dataset.
"""
from __future__ import annotations

import math
from typing import Any, Sequence, Union

import tensorflow as tf

Sample = dict[str, Any]
SeedLike = Union[None, int, Sequence[int], tf.Tensor]

_RIGHT = {"image": "image_right", "depth": "depth_right", "mask": "mask_right", "intrinsics": "intrinsics_right"}


class _Draws:
    """Uniform draws from one seed: stateless (reproducible) when a seed is given, stateful otherwise."""

    def __init__(self, seed: SeedLike, count: int = 16):
        if seed is None:
            self._seeds = None
        else:
            s = tf.cast(tf.convert_to_tensor(seed), tf.int64)
            if s.shape.rank == 0:
                s = tf.stack([s, tf.constant(0, tf.int64)])
            self._seeds = tf.random.experimental.stateless_split(tf.ensure_shape(s, [2]), num=count)
        self._next = 0

    @property
    def seeds(self) -> tf.Tensor:
        return self._seeds

    def uniform(self, shape: Sequence[int] = (), minval: Any = 0.0, maxval: Any = 1.0, dtype=tf.float32) -> tf.Tensor:
        if self._seeds is None:
            return tf.random.uniform(shape, minval, maxval, dtype=dtype)
        seed = self._seeds[self._next]
        self._next += 1
        return tf.random.stateless_uniform(shape, seed, minval, maxval, dtype=dtype)


def _is_stereo(sample: Sample) -> bool:
    return "image_right" in sample


def _views(sample: Sample) -> list[dict[str, str]]:
    """Key maps of the views in a sample: the left (contract) view, and the right one of a stereo pair."""
    views = [{k: k for k in _RIGHT}]
    if _is_stereo(sample):
        views.append(dict(_RIGHT))
    return views


def _size(out_size: Sequence[int]) -> tuple[int, int]:
    if len(out_size) != 2 or int(out_size[0]) <= 0 or int(out_size[1]) <= 0:
        raise ValueError(f"out_size: expected [height, width] with positive ints, got {out_size!r}")
    return int(out_size[0]), int(out_size[1])


def _resize_image(image: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    # Bilinear with antialiasing acts as an area filter when shrinking, and as bilinear when growing.
    out = tf.image.resize(tf.cast(image, tf.float32), size, method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(out), 0.0, 255.0), tf.uint8)


def resize_depth(depth: tf.Tensor, mask: tf.Tensor, size: Sequence[int], method: str = "nearest") -> tuple[tf.Tensor, tf.Tensor]:
    """Resize a depth map and its mask together.

    ``method="nearest"``: both with nearest neighbour (each output pixel is one source pixel).
    ``method="masked"``: each output pixel is the average of the *valid* source pixels under it, valid
    where at least one was (keeps sparse LiDAR points when shrinking, at the cost of averaging across
    occlusion edges).
    """
    size = _size(size)
    if method == "nearest":
        d = tf.image.resize(depth, size, method="nearest")
        m = tf.image.resize(mask, size, method="nearest")
    elif method == "masked":
        num = tf.image.resize(depth * mask, size, method="area")
        den = tf.image.resize(mask, size, method="area")
        m = tf.cast(den > 1e-6, tf.float32)
        d = tf.math.divide_no_nan(num, den) * m
    else:
        raise ValueError(f"depth resize method: expected 'nearest' or 'masked', got {method!r}")
    return tf.ensure_shape(d, [*size, 1]), tf.ensure_shape(m, [*size, 1])


def _crop_resize_intrinsics(intr: tf.Tensor, x0: Any, y0: Any, crop_w: Any, crop_h: Any, out_w: int, out_h: int) -> tf.Tensor:
    """Pixel i covers [i, i+1) (centres at i + 0.5, keras_depth.geometry), so a crop shifts the
    principal point and a resize scales it like any image coordinate."""
    intr = tf.cast(intr, tf.float32)
    sx = tf.cast(out_w, tf.float32) / tf.cast(crop_w, tf.float32)
    sy = tf.cast(out_h, tf.float32) / tf.cast(crop_h, tf.float32)
    x0 = tf.cast(x0, tf.float32)
    y0 = tf.cast(y0, tf.float32)
    new = tf.stack([intr[0] * sx, intr[1] * sy, (intr[2] - x0) * sx, (intr[3] - y0) * sy])
    return tf.where(intr[0] > 0, new, intr)


def _crop_resize(sample: Sample, y0: Any, x0: Any, crop_h: Any, crop_w: Any, size: tuple[int, int], depth_method: str) -> Sample:
    out = dict(sample)
    for v in _views(sample):
        out[v["image"]] = tf.ensure_shape(
            _resize_image(tf.image.crop_to_bounding_box(sample[v["image"]], y0, x0, crop_h, crop_w), size), [*size, 3]
        )
        if v["depth"] in sample:
            d = tf.image.crop_to_bounding_box(sample[v["depth"]], y0, x0, crop_h, crop_w)
            m = tf.image.crop_to_bounding_box(sample[v["mask"]], y0, x0, crop_h, crop_w)
            out[v["depth"]], out[v["mask"]] = resize_depth(d, m, size, depth_method)
        if v["intrinsics"] in sample:
            out[v["intrinsics"]] = _crop_resize_intrinsics(sample[v["intrinsics"]], x0, y0, crop_w, crop_h, size[1], size[0])
    return out


def resize_sample(sample: Sample, out_size: Sequence[int]) -> Sample:
    """Deterministic resize to ``out_size`` = [height, width] (validation): image bilinear with
    antialiasing (an area filter when shrinking), depth and mask nearest neighbour; intrinsics scaled.
    The aspect ratio follows ``out_size``. Other keys pass through unchanged.
    """
    size = _size(out_size)
    shape = tf.shape(sample["image"])
    return _crop_resize(sample, 0, 0, shape[0], shape[1], size, "nearest")


def shrink_sample(sample: Sample, short_side: int) -> Sample:
    """Downscale (never upscale) so that min(height, width) is ``short_side``, keeping the aspect ratio;
    resampled as :func:`resize_sample`. Output height and width are dynamic (they follow the input)."""
    if short_side < 1:
        raise ValueError(f"short_side: expected >= 1, got {short_side!r}")
    shape = tf.shape(sample["image"])
    hw = tf.cast(shape[:2], tf.float32)
    scale = tf.minimum(1.0, short_side / tf.reduce_min(hw))
    size = tf.maximum(tf.cast(tf.round(hw * scale), tf.int32), 1)
    out = dict(sample)
    for v in _views(sample):
        img = tf.image.resize(tf.cast(sample[v["image"]], tf.float32), size, method="bilinear", antialias=True)
        out[v["image"]] = tf.ensure_shape(tf.cast(tf.clip_by_value(tf.round(img), 0.0, 255.0), tf.uint8), [None, None, 3])
        if v["depth"] in sample:
            out[v["depth"]] = tf.ensure_shape(tf.image.resize(sample[v["depth"]], size, method="nearest"), [None, None, 1])
            out[v["mask"]] = tf.ensure_shape(tf.image.resize(sample[v["mask"]], size, method="nearest"), [None, None, 1])
        if v["intrinsics"] in sample:
            out[v["intrinsics"]] = _crop_resize_intrinsics(sample[v["intrinsics"]], 0, 0, shape[1], shape[0], size[1], size[0])
    return out


def random_scale_crop(
    sample: Sample, out_size: Sequence[int], crop_scale: Sequence[float] = (0.75, 1.0), seed: SeedLike = None,
    depth_method: str = "nearest",
) -> Sample:
    """Crop a random window and resize it to ``out_size``.

    The window has ``out_size``'s aspect ratio; its side is a fraction ``s ~ U(crop_scale)`` of the
    largest such window that fits, at a uniformly random position. ``s < 1`` zooms in. Depth values are
    kept (the scene is unchanged) and the intrinsics are updated, so a metric sample stays consistent.
    """
    oh, ow = _size(out_size)
    lo, hi = float(crop_scale[0]), float(crop_scale[1])
    if not (0.0 < lo <= hi <= 1.0):
        raise ValueError(f"crop_scale: expected 0 < lo <= hi <= 1, got {list(crop_scale)!r}")
    draws = _Draws(seed)
    shape = tf.shape(sample["image"])
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    base_h = tf.minimum(h, w * oh / ow)
    s = draws.uniform([], lo, hi)
    crop_h = tf.clip_by_value(tf.cast(tf.round(s * base_h), tf.int32), 1, shape[0])
    crop_w = tf.clip_by_value(tf.cast(tf.round(tf.cast(crop_h, tf.float32) * ow / oh), tf.int32), 1, shape[1])
    y0 = tf.cast(tf.floor(draws.uniform([]) * tf.cast(shape[0] - crop_h + 1, tf.float32)), tf.int32)
    x0 = tf.cast(tf.floor(draws.uniform([]) * tf.cast(shape[1] - crop_w + 1, tf.float32)), tf.int32)
    y0 = tf.minimum(y0, shape[0] - crop_h)
    x0 = tf.minimum(x0, shape[1] - crop_w)
    return _crop_resize(sample, y0, x0, crop_h, crop_w, (oh, ow), depth_method)


def _rotate(image: tf.Tensor, angle: tf.Tensor, interpolation: str, fill_mode: str) -> tf.Tensor:
    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    c, s = tf.cos(angle), tf.sin(angle)
    # Output pixel (x, y) samples the input at R(angle) about the centre (ImageProjectiveTransform maps output -> input).
    transform = tf.stack([c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy, 0.0, 0.0])
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(image, tf.float32)[None], transforms=transform[None], output_shape=shape[:2],
        fill_value=0.0, interpolation=interpolation, fill_mode=fill_mode,
    )[0]
    return tf.ensure_shape(out, image.shape)  # static shape kept for Dataset.map


def random_rotation(sample: Sample, max_degrees: float, seed: SeedLike = None) -> Sample:
    """Rotate by ``U(-max_degrees, max_degrees)`` about the image centre (positive = counter-clockwise on
    screen, as OpenCV's ``getRotationMatrix2D``): image bilinear (edge-replicated
    borders), depth and mask nearest; pixels rotated in from outside are invalid (mask 0, depth 0).

    Intrinsics are kept: for a principal point near the centre this is a camera roll. Stereo pairs are
    returned unchanged, because an in-plane rotation breaks their rectification (horizontal epipolar lines).
    """
    if max_degrees <= 0 or _is_stereo(sample):
        return sample
    draws = _Draws(seed)
    angle = draws.uniform([], -max_degrees, max_degrees) * (math.pi / 180.0)
    out = dict(sample)
    # Edge-replicated borders: cheaper than reflection; their depth is marked invalid anyway.
    img = _rotate(sample["image"], angle, "BILINEAR", "NEAREST")
    out["image"] = tf.cast(tf.clip_by_value(tf.round(img), 0.0, 255.0), tf.uint8)
    if "depth" in sample:
        # One warp for both maps (the transform is the op's main cost).
        dm = _rotate(tf.concat([sample["depth"], sample["mask"]], -1), angle, "NEAREST", "CONSTANT")
        out["mask"] = dm[..., 1:2]
        out["depth"] = dm[..., 0:1] * dm[..., 1:2]
    return out


def _flip_intrinsics(intr: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
    intr = tf.cast(intr, tf.float32)
    new = tf.stack([intr[0], intr[1], tf.cast(width, tf.float32) - intr[2], intr[3]])  # x -> W - x
    return tf.where(intr[0] > 0, new, intr)


def flip_sample(sample: Sample) -> Sample:
    """Horizontal flip. A stereo pair swaps left and right and flips both, so it stays a valid pair
    (the flipped right view is the new left view, seen from the left camera of a mirrored rig)."""
    out = dict(sample)
    width = tf.shape(sample["image"])[1]
    views = _views(sample)
    pairs = list(zip(views, reversed(views)))  # mono: view -> itself; stereo: left <-> right
    for dst, src in pairs:
        for key in ("image", "depth", "mask"):
            if src[key] in sample:
                out[dst[key]] = tf.reverse(sample[src[key]], axis=[1])
        if src["intrinsics"] in sample:
            out[dst["intrinsics"]] = _flip_intrinsics(sample[src["intrinsics"]], width)
    return out


def random_flip(sample: Sample, seed: SeedLike = None) -> Sample:
    """:func:`flip_sample` with probability 1/2."""
    do_flip = _Draws(seed).uniform([]) < 0.5
    return tf.cond(do_flip, lambda: flip_sample(sample), lambda: dict(sample))


def random_color_jitter(sample: Sample, strength: float, seed: SeedLike = None) -> Sample:
    """Photometric jitter of the image(s) only: gamma, brightness and per-channel gain, each drawn from
    ``U(1 - strength, 1 + strength)`` (Monodepth2 uses a similar set). Both views of a stereo pair get the
    same draw, so the photometric loss still compares like with like."""
    if strength <= 0:
        return sample
    if strength >= 1:
        raise ValueError(f"color_jitter: expected a strength in [0, 1), got {strength!r}")
    draws = _Draws(seed)
    gamma = draws.uniform([], 1.0 - strength, 1.0 + strength)
    brightness = draws.uniform([], 1.0 - strength, 1.0 + strength)
    gain = draws.uniform([3], 1.0 - strength, 1.0 + strength)
    out = dict(sample)
    for v in _views(sample):
        x = tf.cast(sample[v["image"]], tf.float32) / 255.0
        x = tf.pow(x, gamma) * brightness * gain
        out[v["image"]] = tf.cast(tf.round(tf.clip_by_value(x, 0.0, 1.0) * 255.0), tf.uint8)
    return out


def augment_sample(
    sample: Sample,
    *,
    out_size: Sequence[int],
    random_crop: bool,
    crop_scale: Sequence[float],
    flip: bool,
    rotation_deg: float,
    color_jitter: float,
    seed: SeedLike = None,
) -> Sample:
    """Training augmentation of one raw sample, returning a raw sample of size ``out_size``.

    Args:
      sample: a raw-sample dict (docs/contracts.md section 1), optionally a stereo pair.
      out_size: [height, width] of the result.
      random_crop: True: :func:`random_scale_crop` with ``crop_scale``; False: :func:`resize_sample`.
      crop_scale: [lo, hi], the crop side as a fraction of the largest window with ``out_size``'s aspect.
      flip: horizontal flip with probability 1/2 (a stereo pair swaps left and right).
      rotation_deg: rotation by U(-rotation_deg, rotation_deg) degrees; 0 disables (never applied to stereo pairs).
      color_jitter: strength in [0, 1) of gamma, brightness and per-channel gain jitter; 0 disables.
      seed: None (fresh draws each call) or an int / shape-[2] int tensor (stateless, reproducible;
        inside ``Dataset.map`` give each element its own).

    Returns:
      The sample with ``image`` uint8 [h, w, 3], ``depth``/``mask`` float32 [h, w, 1] (static shapes),
      ``intrinsics`` updated; ``semantics`` and any other keys unchanged.
    """
    seeds = [None] * 4 if seed is None else tf.unstack(_Draws(seed, 4).seeds)
    if random_crop:
        sample = random_scale_crop(sample, out_size, crop_scale, seed=seeds[0])
    else:
        sample = resize_sample(sample, out_size)
    if rotation_deg:
        sample = random_rotation(sample, float(rotation_deg), seed=seeds[1])
    if flip:
        sample = random_flip(sample, seed=seeds[2])
    if color_jitter:
        sample = random_color_jitter(sample, float(color_jitter), seed=seeds[3])
    return sample

