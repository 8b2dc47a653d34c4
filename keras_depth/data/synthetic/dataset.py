"""The registered synthetic datasets: cached frames (``cache.build_cache``) read as raw samples.

Each dataset maps the frame schema (``schema.FIELDS``) to the raw-sample keys of docs/contracts.md
section 1, adding a channel axis to depth and disparity maps:

- ``synthetic``: ``image``, ``depth``, ``intrinsics``;
- ``synthetic_stereo``: ``left`` (image), ``right`` (image_right), ``depth``, ``disparity_left``
  (disparity), ``disparity_right``, ``intrinsics``, and ``baseline``;
- ``synthetic_sequence`` (not registered: one element is a whole sequence): ``image``, ``depth``,
  ``intrinsics`` and ``poses`` (pose as float32), each with a leading time axis.

Every ray hits the closed room, so ``mask`` is all ones and ``semantics`` is metric.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from keras_depth import spec
from keras_depth.data.registry import register_dataset
from keras_depth.data.synthetic.cache import PathLike, build_cache, load_cache
from keras_depth.data.synthetic.frames import DEFAULT_BASELINE
from keras_depth.data.synthetic.sampling import CAMERA_HEIGHT_RANGE_M, FOV_RANGE_DEG


def _dense_extras(depth: tf.Tensor) -> dict[str, tf.Tensor]:
    return {"mask": tf.ones_like(depth), "semantics": tf.constant(spec.METRIC, tf.int32)}


def _map(arrays: dict[str, np.ndarray], keys: dict[str, str], channel: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Sample key -> the cached field ``keys[key]`` read into memory, with a channel axis for ``channel``."""
    return {k: np.asarray(arrays[f])[..., None] if k in channel else np.asarray(arrays[f]) for k, f in keys.items()}


@register_dataset("synthetic")
def synthetic_dataset(
    split: str = "train",
    count: int = 1000,
    height: int = 160,
    width: int = 160,
    seed: int = 0,
    cache_dir: PathLike = "runs/cache",
    strict: bool = False,
    fov_deg: Any = FOV_RANGE_DEG,
    camera_height: Any = CAMERA_HEIGHT_RANGE_M,
    pitch_deg: Any = None,
) -> tf.data.Dataset:
    """Raw samples (docs/contracts.md section 1) of procedurally ray-cast rooms, metric depth in metres.

    ``fov_deg``, ``camera_height`` and ``pitch_deg`` ([low, high], degrees and metres) bound the random
    camera; ``pitch_deg`` None keeps the default pitch ~N(0, 8 deg) (``sampling.CameraRanges``).
    """
    path = build_cache(
        cache_dir, split, count, height, width, seed, fov_deg=fov_deg, camera_height=camera_height, pitch_deg=pitch_deg
    )
    arrays, _ = load_cache(path, strict)
    # The cache is read into memory once (docs/data.md has its size): slicing in-memory tensors beats
    # a per-element numpy_function, which holds the GIL and loses static shapes.
    ds = tf.data.Dataset.from_tensor_slices(
        _map(arrays, {"image": "image", "depth": "depth", "intrinsics": "intrinsics"}, ("depth",))
    )

    def to_sample(x: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return {**x, **_dense_extras(x["depth"])}

    return ds.map(to_sample, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


@register_dataset("synthetic_stereo")
def synthetic_stereo_dataset(
    split: str = "train",
    count: int = 1000,
    height: int = 160,
    width: int = 160,
    seed: int = 0,
    baseline: float = DEFAULT_BASELINE,
    cache_dir: PathLike = "runs/cache",
    strict: bool = False,
) -> tf.data.Dataset:
    """Rectified stereo pairs: left/right uint8, disparities in pixels (fx * baseline / depth), left depth."""
    path = build_cache(cache_dir, split, count, height, width, seed, kind="stereo", baseline=baseline)
    arrays, meta = load_cache(path, strict)
    keys = {
        "left": "image", "right": "image_right", "disparity_left": "disparity", "disparity_right": "disparity_right",
        "depth": "depth", "intrinsics": "intrinsics",
    }
    ds = tf.data.Dataset.from_tensor_slices(_map(arrays, keys, ("disparity_left", "disparity_right", "depth")))
    b = tf.constant(meta["baseline"], tf.float32)

    def to_sample(x: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return {**x, **_dense_extras(x["depth"]), "baseline": b}

    return ds.map(to_sample, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def synthetic_sequence(
    split: str = "train",
    count: int = 64,
    sequence_length: int = 8,
    height: int = 160,
    width: int = 160,
    seed: int = 0,
    cache_dir: PathLike = "runs/cache",
    strict: bool = False,
) -> tf.data.Dataset:
    """Cached trajectories, one element per sequence: images uint8 [T, H, W, 3], depth float32
    [T, H, W, 1], mask, semantics, intrinsics [T, 4] and camera-to-world poses float32 [T, 4, 4].

    The relative motion from frame i to j is ``inv(poses[j]) @ poses[i]`` (camera i to camera j).
    """
    path = build_cache(cache_dir, split, count, height, width, seed, kind="sequence", sequence_length=sequence_length)
    arrays, _ = load_cache(path, strict)
    n = count // sequence_length
    sample = _map(arrays, {"image": "image", "depth": "depth", "intrinsics": "intrinsics", "poses": "pose"}, ("depth",))
    sample["poses"] = sample["poses"].astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices({k: v.reshape(n, sequence_length, *v.shape[1:]) for k, v in sample.items()})

    def to_sample(x: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return {**x, **_dense_extras(x["depth"])}

    return ds.map(to_sample)
