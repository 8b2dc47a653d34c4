"""The tf.data pipeline that feeds ``model.fit``: readers -> (mix) -> augment -> (x, packed target)."""
from __future__ import annotations

from typing import Optional

import tensorflow as tf

from keras_depth.config import Config
from keras_depth.data.registry import build_dataset
from keras_depth.errors import UsageError
from keras_depth.packed_target import pack_target

AUTOTUNE = tf.data.AUTOTUNE


def raw_dataset(config: Config, split: str) -> tf.data.Dataset:
    """Raw samples (docs/contracts.md section 1) of the configured datasets of ``split``, mixed by weight."""
    entries = getattr(config.data, split, None)
    if not entries:
        raise UsageError(f"config key 'data.{split}': expected a non-empty list of datasets")
    context = {"cache_dir": config.data.cache_dir, "strict": config.data.strict, "seed": config.seed}
    datasets = [build_dataset(e, **context) for e in entries]
    if len(datasets) == 1:
        return datasets[0]
    from keras_depth.data.mixing import mix_datasets

    weights = [float(e.get("weight", 1.0)) for e in entries]
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise UsageError(f"config key 'data.{split}': dataset weights must be >= 0 with a positive sum, got {weights}")
    # Sources differ in size and keys: mix_datasets brings them to one size and the contract's keys.
    # Training mixes forever (steps_per_epoch sets the epoch); held-out splits end when all sources do.
    return mix_datasets(datasets, weights, seed=config.seed, out_size=tuple(config.data.image_size),
                        repeat=split == "train")


def to_model_io(sample: dict) -> tuple[tf.Tensor, tf.Tensor]:
    """A raw sample -> (x: RGB float32 in [0, 1], y: packed target), as docs/contracts.md section 2 says."""
    x = tf.cast(sample["image"], tf.float32) / 255.0
    y = pack_target(sample["depth"], sample["mask"], sample["semantics"])
    return x, y


def make_dataset(
    config: Config,
    split: str = "train",
    batch_size: Optional[int] = None,
    training: Optional[bool] = None,
    repeat: Optional[bool] = None,
) -> tf.data.Dataset:
    """Batched ``(x, y)`` for ``split``. Training splits are shuffled, augmented and repeated."""
    from keras_depth.data.augment import augment_sample, resize_sample

    training = (split == "train") if training is None else training
    repeat = training if repeat is None else repeat
    batch_size = batch_size or config.data.batch_size
    size = tuple(config.data.image_size)
    ds = raw_dataset(config, split)
    if training:
        ds = ds.shuffle(config.data.shuffle_buffer, seed=config.seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        d = config.data

        def aug(sample):
            return augment_sample(
                sample,
                out_size=size,
                random_crop=d.random_crop,
                crop_scale=tuple(d.crop_scale),
                flip=d.flip,
                rotation_deg=0.0,
                color_jitter=d.color_jitter,
            )

        ds = ds.map(aug, num_parallel_calls=AUTOTUNE)
    else:
        ds = ds.map(lambda s: resize_sample(s, size), num_parallel_calls=AUTOTUNE)
        if repeat:
            ds = ds.repeat()
    ds = ds.map(to_model_io, num_parallel_calls=AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=training)
    options = tf.data.Options()
    # Readers that stream files shard by file; in-memory sources fall back to sharding by element.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.AUTO
    options.deterministic = not training
    return ds.with_options(options).prefetch(AUTOTUNE)


def split_size(config: Config, split: str) -> Optional[int]:
    """Number of raw samples in ``split`` when the readers know it (None when they stream)."""
    n = raw_dataset(config, split).cardinality().numpy()
    return int(n) if n >= 0 else None
