"""Precise BN (train.precise_bn_batches): moving statistics recomputed as the mean of batch statistics."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras, layers
from keras_depth.models.io import load_trained_model, save_model_atomic
from keras_depth.training.batchnorm import recompute_batchnorm_statistics

LOCAL = Path(__file__).resolve().parents[1] / "keras_depth" / "configs" / "quickstart_local.yaml"


def test_moving_statistics_become_the_mean_of_batch_statistics(tmp_path):
    inp = keras.Input((4, 4, 2))
    x = layers.Conv2D(3, 1, use_bias=False, name="conv")(inp)
    out = layers.BatchNormalization(momentum=0.9, name="bn")(x)
    model = keras.Model(inp, out)
    bn = model.get_layer("bn")
    bn.moving_mean.assign([50.0, -50.0, 7.0])  # stale statistics that must not survive
    bn.moving_variance.assign([1e3, 1e-3, 5.0])
    kernel = model.get_layer("conv").get_weights()[0]
    rng = np.random.default_rng(0)
    xs = np.stack([rng.normal(k, 1 + k, (3, 4, 4, 2)) for k in range(5)]).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((xs, np.zeros(5, np.float32)))  # (input, target) like training

    assert recompute_batchnorm_statistics(model, ds, batches=10) == 5  # the dataset ends first

    feats = [x @ kernel[0, 0] for x in xs]  # the conv's output per batch, [3, 4, 4, 3]
    want_mean = np.mean([f.mean(axis=(0, 1, 2)) for f in feats], axis=0)
    # Keras keeps the unbiased (ddof=1) batch variance in its moving variance
    want_var = np.mean([f.var(axis=(0, 1, 2), ddof=1) for f in feats], axis=0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), want_mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), want_var, rtol=1e-5)
    np.testing.assert_array_equal(model.get_layer("conv").get_weights()[0], kernel)  # weights untouched
    assert bn.momentum == 0.9 and len(model.weights) == 5  # no extra tracked variable left behind
    save_model_atomic(model, tmp_path / "m.keras")  # the config still serialises
    assert load_trained_model(tmp_path / "m.keras").get_layer("bn").momentum == 0.9

    assert recompute_batchnorm_statistics(model, ds, batches=2) == 2  # only the first two batches count
    np.testing.assert_allclose(bn.moving_mean.numpy(), np.mean([f.mean(axis=(0, 1, 2)) for f in feats[:2]], axis=0),
                               rtol=1e-5, atol=1e-5)


def test_precise_bn_batches_is_checked(tmp_path):
    from keras_depth.config import load_config
    from keras_depth.training.trainer import train

    # a negative count is refused when the config loads (keras_depth.config_ranges) ...
    with pytest.raises(UsageError, match="'train.precise_bn_batches': expected an integer >= 0"):
        load_config(LOCAL, [f"output_dir={tmp_path / 'run'}", "train.precise_bn_batches=-1"])
    # ... and precise BN in the stereo mode when training starts
    cfg = load_config(LOCAL.with_name("stereo_local.yaml"), [f"output_dir={tmp_path / 'run'}", "train.precise_bn_batches=2"])
    with pytest.raises(UsageError, match="train.precise_bn_batches: expected an integer >= 0 \\(supervised modes only\\)"):
        train(cfg)


# The end-to-end test checks what the trainer does with BatchNormalization layers, whichever model
# holds them: the quickstart pipeline on the tiny_unet preset (BatchNormalization after each of its
# convolutions) at 32x32 instead of MobileNetV2 at 64x64 (the file: 68 -> 40 CPU s).
SMALL = ["model.name=tiny_unet", "model.params={}", "data.image_size=[32, 32]",
         "data.train=[{type: synthetic, split: train, count: 48, height: 32, width: 32}]",
         "data.val=[{type: synthetic, split: val, count: 8, height: 32, width: 32}]"]


@pytest.mark.slow
def test_training_with_precise_bn_saves_the_recomputed_statistics(tmp_path):
    """End to end: with train.precise_bn_batches the saved model's moving statistics are the batch
    statistics' mean (what a fresh recomputation gives, up to augmentation), not what fit left; the
    same run without it keeps momentum-0.99 statistics still near their initial values after 4 steps."""
    from keras_depth.config import load_config
    from keras_depth.data.pipeline import make_dataset
    from keras_depth.training.trainer import train

    def run(name, n):
        cfg = load_config(LOCAL, [f"output_dir={tmp_path / name}", f"data.cache_dir={tmp_path / 'cache'}",
                                  f"train.precise_bn_batches={n}", "train.tensorboard_images=1", *SMALL])
        return cfg, load_trained_model(train(cfg).model_path)

    def means(model):
        return np.concatenate([l.moving_mean.numpy() for l in model.layers
                               if isinstance(l, keras.layers.BatchNormalization)])

    _, plain = run("plain", 0)
    cfg, precise = run("precise", 6)
    reference = keras.models.clone_model(precise)
    reference.set_weights(precise.get_weights())
    assert recompute_batchnorm_statistics(reference, make_dataset(cfg, "train"), 6) == 6
    ref = means(reference)
    off_precise = np.abs(means(precise) - ref).mean()
    off_plain = np.abs(means(plain) - ref).mean()
    assert off_precise < 0.25 * off_plain, (off_precise, off_plain)
