"""Mixing datasets by weight: sizes made compatible, semantics carried per sample."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import tensorflow as tf

from keras_depth.data.augment import augment_sample
from keras_depth.config import config_from_dict
from keras_depth.data.mixing import mix_datasets
from keras_depth.data.pipeline import raw_dataset
from keras_depth.errors import UsageError
from keras_depth.spec import AFFINE_DISPARITY, METRIC, RELATIVE


def constant_source(h: int, w: int, semantics: int, stereo: bool = False) -> tf.data.Dataset:
    s = {"image": tf.zeros([h, w, 3], tf.uint8), "depth": tf.ones([h, w, 1]), "mask": tf.ones([h, w, 1]),
         "semantics": tf.constant(semantics, tf.int32), "intrinsics": tf.constant([-1.0] * 4)}
    if stereo:
        s.update(image_right=tf.zeros([h, w, 3], tf.uint8), baseline=tf.constant(0.5))
    return tf.data.Dataset.from_tensors(s).repeat(3)


def test_weights_set_the_proportions_and_semantics_travel_with_samples():
    sources = [constant_source(10, 12, METRIC), constant_source(20, 8, RELATIVE), constant_source(7, 7, AFFINE_DISPARITY, stereo=True)]
    ds = mix_datasets(sources, [0.6, 0.3, 0.1], seed=1, out_size=[8, 8])
    assert set(ds.element_spec) == {"image", "depth", "mask", "semantics", "intrinsics"}
    sem = np.array([int(s["semantics"]) for s in ds.take(1000).as_numpy_iterator()])
    frac = np.bincount(sem, minlength=3) / len(sem)
    np.testing.assert_allclose(frac, [0.6, 0.3, 0.1], atol=0.05)
    again = np.array([int(s["semantics"]) for s in mix_datasets(sources, [0.6, 0.3, 0.1], seed=1, out_size=[8, 8]).take(50)])
    np.testing.assert_array_equal(again, sem[:50])


def test_a_transform_can_augment_each_source_to_the_common_size():
    aug = functools.partial(augment_sample, out_size=[6, 6], random_crop=True, crop_scale=[0.5, 1.0], flip=True,
                            rotation_deg=0.0, color_jitter=0.1)
    ds = mix_datasets([constant_source(10, 12, METRIC), constant_source(20, 8, RELATIVE)], [1, 1], seed=0, transform=aug)
    batch = next(iter(ds.batch(4)))
    assert batch["image"].shape == (4, 6, 6, 3)


def test_different_sizes_need_out_size_and_bad_weights_are_usage_errors():
    a, b = constant_source(10, 12, METRIC), constant_source(20, 8, RELATIVE)
    with pytest.raises(UsageError, match="out_size"):
        mix_datasets([a, b], [1, 1])
    with pytest.raises(UsageError, match="weights"):
        mix_datasets([a, b], [1])
    with pytest.raises(UsageError, match="weights"):
        mix_datasets([a, b], [0, 0], out_size=[4, 4])


def test_configured_datasets_mix_with_real_readers(shared_data):
    entries = [
        {"type": "kitti_depth", "path": str(shared_data / "rgbd/kitti_annotated"), "weight": 1},
        {"type": "middlebury", "path": str(shared_data / "stereo/middlebury2006_aloe"), "left": "aloeL.jpg",
         "disparity": "aloeGT.png", "calib": None, "weight": 1},
    ]
    ds = raw_dataset(config_from_dict({"seed": 3, "data": {"image_size": [16, 16], "val": entries}}), "val")
    sem = {int(s["semantics"]) for s in ds.take(12).as_numpy_iterator()}
    assert sem == {METRIC, AFFINE_DISPARITY}
