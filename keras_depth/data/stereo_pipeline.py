"""The tf.data pipeline of ``train.mode: self-supervised-stereo``: rectified pairs, no depth labels.

``model.fit`` sees ``x = {"image", "image_right", "disparity_scale"}``: both views RGB in [0, 1]
and, per pair, ``k = fx * baseline / width`` -- the disparity, as a fraction of the image width, of
a point at 1/m inverse depth (``keras_depth.training.stereo`` explains the units). Training batches
carry nothing else; the held-out split also carries ``y``, the packed left-view target
(``keras_depth.packed_target``) when the source has one, so validation can report depth metrics.

Sources are stereo raw samples (``keras_depth.data.readers.stereo``: the left view under the
contract keys plus ``image_right`` and ``baseline``) or the synthetic renders, whose ``left`` /
``right`` keys are renamed.
"""
from __future__ import annotations

from typing import Optional

import tensorflow as tf

from keras_depth.config import Config
from keras_depth.data.registry import build_dataset
from keras_depth.errors import UsageError
from keras_depth.packed_target import pack_target

AUTOTUNE = tf.data.AUTOTUNE
_LABEL_KEYS = ("depth", "mask", "semantics")


def as_stereo_sample(sample: dict[str, tf.Tensor], labels: bool) -> dict[str, tf.Tensor]:
    """A stereo raw sample with ``image``, ``image_right``, ``intrinsics``, ``baseline`` (-1 unknown),
    plus the left view's depth, mask and semantics when ``labels`` and the source has them."""
    if "left" in sample:
        image, right = sample["left"], sample["right"]
    elif "image_right" in sample:
        image, right = sample["image"], sample["image_right"]
    else:
        raise UsageError(f"stereo mode: dataset samples carry {sorted(sample)}, expected a stereo pair (left/right or image/image_right)")
    intrinsics = tf.cast(sample.get("intrinsics", tf.fill([4], -1.0)), tf.float32)
    out = {
        "image": image,
        "image_right": right,
        "intrinsics": intrinsics,
        # A rectified pair shares its intrinsics; augment's flip swaps the views' keys, so both exist.
        "intrinsics_right": tf.cast(sample.get("intrinsics_right", intrinsics), tf.float32),
        "baseline": tf.cast(sample.get("baseline", tf.constant(-1.0)), tf.float32),
    }
    if labels and all(k in sample for k in _LABEL_KEYS):
        out.update({k: sample[k] for k in _LABEL_KEYS})
    return out


def stereo_raw_dataset(config: Config, split: str, labels: bool) -> tf.data.Dataset:
    """Stereo samples of the configured datasets of ``split``, mixed by weight."""
    from keras_depth.data.augment import resize_sample

    entries = getattr(config.data, split, None)
    if not entries:
        raise UsageError(f"config key 'data.{split}': expected a non-empty list of stereo datasets")
    context = {"cache_dir": config.data.cache_dir, "strict": config.data.strict, "seed": config.seed}
    datasets = [build_dataset(e, **context).map(lambda s: as_stereo_sample(s, labels)) for e in entries]
    if len(datasets) == 1:
        return datasets[0]
    size = tuple(config.data.image_size)
    datasets = [d.map(lambda s: resize_sample(s, size), num_parallel_calls=AUTOTUNE).repeat() for d in datasets]
    weights = [float(e.get("weight", 1.0)) for e in entries]
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise UsageError(f"config key 'data.{split}': dataset weights must be >= 0 with a positive sum, got {weights}")
    return tf.data.Dataset.sample_from_datasets(datasets, weights=[w / sum(weights) for w in weights], seed=config.seed)


def disparity_scale(intrinsics: tf.Tensor, baseline: tf.Tensor, width: int, fallback: float) -> tf.Tensor:
    """``fx * baseline / width`` (width fractions per 1/m), or ``fallback`` when either is unknown."""
    fx = intrinsics[0]
    known = (fx > 0) & (baseline > 0)
    return tf.where(known, fx * baseline / float(width), tf.constant(fallback, tf.float32))


def to_stereo_model_io(sample: dict[str, tf.Tensor], fallback_scale: float):
    """A stereo sample (already at the model's size) -> ``x`` or ``(x, y)`` (module docstring)."""
    width = int(sample["image"].shape[1])
    x = {
        "image": tf.cast(sample["image"], tf.float32) / 255.0,
        "image_right": tf.cast(sample["image_right"], tf.float32) / 255.0,
        "disparity_scale": disparity_scale(sample["intrinsics"], sample["baseline"], width, fallback_scale),
    }
    if "depth" not in sample:
        return x
    return x, pack_target(sample["depth"], sample["mask"], sample["semantics"])


def make_stereo_dataset(
    config: Config,
    split: str = "train",
    batch_size: Optional[int] = None,
    training: Optional[bool] = None,
    repeat: Optional[bool] = None,
    labels: Optional[bool] = None,
) -> tf.data.Dataset:
    """Batched stereo input for ``split``; training splits are shuffled, augmented (crop, flip that
    swaps the views, colour jitter applied to both alike) and repeated, and carry no labels."""
    from keras_depth.data.augment import augment_sample, resize_sample

    training = (split == "train") if training is None else training
    repeat = training if repeat is None else repeat
    labels = (not training) if labels is None else labels
    batch_size = batch_size or config.data.batch_size
    size = tuple(config.data.image_size)
    d = config.data
    ds = stereo_raw_dataset(config, split, labels)
    if training:
        ds = ds.shuffle(d.shuffle_buffer, seed=config.seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()

        def aug(sample):
            # Rotation stays off: it would break the rectification (augment.random_rotation).
            return augment_sample(
                sample, out_size=size, random_crop=d.random_crop, crop_scale=tuple(d.crop_scale),
                flip=d.flip, rotation_deg=0.0, color_jitter=d.color_jitter,
            )

        ds = ds.map(aug, num_parallel_calls=AUTOTUNE)
    else:
        ds = ds.map(lambda s: resize_sample(s, size), num_parallel_calls=AUTOTUNE)
        if repeat:
            ds = ds.repeat()
    fallback = float(config.train.stereo.fallback_disparity_scale)
    ds = ds.map(lambda s: to_stereo_model_io(s, fallback), num_parallel_calls=AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=training)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.AUTO
    options.deterministic = not training
    return ds.with_options(options).prefetch(AUTOTUNE)
