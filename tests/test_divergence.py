"""A NaN or Inf loss stops training at once, naming the epoch and step, and the last good checkpoint
(BackupAndRestore's, written at the previous epoch end) keeps finite weights."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_depth.kerasapi import keras
from keras_depth.training.divergence import StopOnNonFinite, TrainingDiverged

REPO = Path(__file__).resolve().parents[1]


def _tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    return model


def _data(nan_batch: int | None) -> tf.data.Dataset:
    """4 batches of 2 per epoch, 2 epochs; batch ``nan_batch`` (0-based over the whole run) is NaN."""
    x = np.random.default_rng(0).uniform(size=(16, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    if nan_batch is not None:
        x[2 * nan_batch: 2 * nan_batch + 2] = np.nan
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(2)


def test_nan_loss_stops_with_epoch_and_step_and_keeps_the_last_good_backup(tmp_path):
    backup = tmp_path / "backup"
    model = _tiny_model()
    after_epoch_1 = []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                after_epoch_1.extend(w.copy() for w in self.model.get_weights())

    # Batch 6 of the run is the 3rd step of epoch 2 (4 steps per epoch).
    with pytest.raises(TrainingDiverged) as err:
        model.fit(_data(nan_batch=6).repeat(), epochs=2, steps_per_epoch=4, verbose=0,
                  callbacks=[StopOnNonFinite(backup), Snapshot(),
                             keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=True)])
    e = err.value
    assert (e.epoch, e.step, e.last_good_epoch) == (2, 3, 1) and np.isnan(e.loss)
    msg = str(e)
    assert "\n" not in msg and "epoch 2, step 3" in msg and "end of epoch 1" in msg and str(backup) in msg
    assert any(not np.isfinite(w).all() for w in model.get_weights()), "the NaN batch did reach the weights"

    # The backup still holds epoch 1's weights: the diverged epoch never got to back up.
    restored = _tiny_model()
    ckpt = tf.train.Checkpoint(model=restored)
    ckpt.restore(tf.train.latest_checkpoint(str(backup / "chief"))).expect_partial()
    for got, want in zip(restored.get_weights(), after_epoch_1):
        np.testing.assert_array_equal(got, want)
    reader = tf.train.load_checkpoint(str(backup / "chief"))
    assert reader.get_tensor("ckpt_saved_epoch/.ATTRIBUTES/VARIABLE_VALUE") == 0  # epoch index 0 = epoch 1


def test_finite_training_is_not_stopped(tmp_path):
    model = _tiny_model()
    hist = model.fit(_data(nan_batch=None).repeat(), epochs=2, steps_per_epoch=4, verbose=0,
                     callbacks=[StopOnNonFinite(tmp_path / "backup")])
    assert len(hist.history["loss"]) == 2


@pytest.mark.slow
def test_cli_turns_divergence_into_one_error_line(tmp_path):
    """A learning rate of 1e30 makes the loss NaN within the first steps: exit 1, one ``error:`` line
    naming epoch and step, no traceback, and no model written."""
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "keras_depth.cli", "train", "quickstart_local", "--output-dir", str(out),
         "--set", f"data.cache_dir={tmp_path / 'cache'}", "--set", "train.learning_rate=1.0e+30",
         "--set", "train.epochs=2", "--set", "train.tensorboard_images=1",
         # the quickstart pipeline with the tiny_unet preset at 32x32: divergence does not need the big model
         "--set", "model.name=tiny_unet", "--set", "model.params={}", "--set", "data.image_size=[32, 32]",
         "--set", "data.train=[{type: synthetic, split: train, count: 16, height: 32, width: 32}]",
         "--set", "data.val=[{type: synthetic, split: val, count: 8, height: 32, width: 32}]"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "training diverged: the loss is" in errors[0], proc.stderr[-2000:]
    assert "epoch 1, step " in errors[0] and "Traceback" not in proc.stderr
    assert not (out / "model.keras").exists()
