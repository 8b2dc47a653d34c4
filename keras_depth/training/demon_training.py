"""``train.mode: demon``: the two-image ``demon_pair`` model on the synthetic generator's camera
trajectories (DeMoN, Ummenhofer et al. CVPR 2017).

Data: ``data.train`` (and, if not empty, ``data.val``) entries ``{type: synthetic_sequence, split,
count, sequence_length}``: ``count`` frames rendered at ``data.image_size`` as ``count //
sequence_length`` trajectories; the pairs (i, i + ``train.demon.pair_step``) of each trajectory are
the samples, their targets from ``demon_targets``.

Losses (DeMoN Sec. 4, ``keras_depth.losses.demon``): L1 on the scale-normalised inverse depth plus
its scale-invariant gradient loss (Eq. 3-4); L2 distance of the normals; L2 of the rotation
(axis-angle) and of the unit translation; weighted by ``train.demon.loss_weights``. Adam at the
constant ``train.learning_rate``.

The run is resumable and saved like every other (``training.artifacts``):
``keras-depth train demon_local``.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from keras_depth.config import Config, DemonLossWeights, save_config
from keras_depth.data.synthetic import synthetic_sequence
from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras
from keras_depth.losses.demon import DemonDepthLoss, DemonMotionLoss, DemonNormalLoss
from keras_depth.models import build_model_from_config
from keras_depth.training.artifacts import TrainResult, save_trained_model
from keras_depth.training.batchnorm import set_batchnorm_momentum
from keras_depth.training.callbacks import AtomicModelCheckpoint, fit_verbosity
from keras_depth.training.demon_targets import sequence_pairs
from keras_depth.training.divergence import StopOnNonFinite
from keras_depth.training.interrupt import deferred_interrupt
from keras_depth.training.resume import BACKUP_HISTORY, ResumedHistory, check_backup_config, remove_backup
from keras_depth.training.strategy import get_strategy

DEMON_MODE = "demon"
SEQUENCE_TYPE = "synthetic_sequence"
SEQUENCE_OPTIONS = ("split", "count", "sequence_length")
OUTPUTS = ("depth", "normals", "motion")


def _entry_pairs(config: Config, entry: object, where: str) -> tuple[dict, dict]:
    if not isinstance(entry, dict) or entry.get("type") != SEQUENCE_TYPE:
        raise UsageError(f"{where}: train.mode demon reads {{type: {SEQUENCE_TYPE}, {', '.join(SEQUENCE_OPTIONS)}}}, got {entry!r}")
    unknown = sorted(set(entry) - {"type", *SEQUENCE_OPTIONS})
    if unknown:
        raise UsageError(f"{where}: unknown option(s) {unknown} (expected: {', '.join(SEQUENCE_OPTIONS)})")
    options = {k: entry[k] for k in SEQUENCE_OPTIONS if k in entry}
    h, w = config.data.image_size
    seqs = list(synthetic_sequence(height=h, width=w, seed=config.seed, cache_dir=config.data.cache_dir,
                                   strict=config.data.strict, **options).as_numpy_iterator())
    if not seqs:
        raise UsageError(f"{where}: no trajectory (count below sequence_length?)")
    stack = lambda k: np.stack([s[k] for s in seqs])  # noqa: E731
    # Samples and the targets share keras_depth.geometry's +0.5 pixel-centre convention.
    intrinsics = stack("intrinsics").astype(np.float64)
    return sequence_pairs(stack("image"), stack("depth"), intrinsics, stack("poses"), config.train.demon.pair_step)


def demon_pair_dataset(config: Config, split: str, shuffle: bool = True) -> Optional[tf.data.Dataset]:
    """The batched (inputs, targets) pairs of ``data.<split>``; None when that list is empty."""
    entries = getattr(config.data, split)
    if not entries:
        return None
    parts = [_entry_pairs(config, e, f"data.{split}[{i}]") for i, e in enumerate(entries)]
    x = {k: np.concatenate([p[0][k] for p in parts]) for k in parts[0][0]}
    y = {k: np.concatenate([p[1][k] for p in parts]) for k in OUTPUTS}
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(y["motion"]), seed=config.seed, reshuffle_each_iteration=True)
    return ds.batch(config.data.batch_size)


def compile_demon(model: keras.Model, weights: DemonLossWeights, learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss={"depth": DemonDepthLoss(weights.gradient / max(weights.depth, 1e-12)), "normals": DemonNormalLoss(),
              "motion": DemonMotionLoss(weights.rotation, weights.translation)},
        loss_weights={"depth": weights.depth, "normals": weights.normals, "motion": 1.0},
    )


def _check_options(config: Config) -> None:
    t = config.train
    if t.precise_bn_batches or t.mixed_precision:
        raise UsageError("train.precise_bn_batches and train.mixed_precision: not available in train.mode demon")
    if isinstance(t.demon.pair_step, bool) or t.demon.pair_step < 1:
        raise UsageError(f"train.demon.pair_step: expected an integer >= 1, got {t.demon.pair_step!r}")


def train_demon(config: Config, resume: bool = True, extra_callbacks: Sequence = ()) -> TrainResult:
    """``train`` for ``train.mode: demon``; writes the same files as every mode."""
    _check_options(config)
    t = config.train
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        remove_backup(out / "backup")
    check_backup_config(config, out / "backup")
    keras.utils.set_random_seed(config.seed)
    save_config(config, out / "config.json")
    train_ds = demon_pair_dataset(config, "train")
    if train_ds is None:
        raise UsageError(f"config key 'data.train': expected a non-empty list of {SEQUENCE_TYPE} entries")
    val_ds = demon_pair_dataset(config, "val", shuffle=False)
    if t.steps_per_epoch:
        train_ds = train_ds.repeat()

    with get_strategy(t.distribute).scope():
        model = build_model_from_config(config.model, config.data.image_size)
        missing = [k for k in OUTPUTS if k not in model.output_names]
        if missing:
            raise UsageError(f"model.name {config.model.name!r}: train.mode demon needs the outputs {list(OUTPUTS)} "
                             f"(the demon_pair preset), got {model.output_names}")
        set_batchnorm_momentum(model, t.batchnorm_momentum)
        compile_demon(model, t.demon.loss_weights, t.learning_rate)

    history = ResumedHistory(out / "backup" / BACKUP_HISTORY)
    callbacks = [
        StopOnNonFinite(out / "backup"),
        history,  # before BackupAndRestore: an epoch's logs are written before its checkpoint
        keras.callbacks.BackupAndRestore(str(out / "backup"), delete_checkpoint=False),  # see trainer.py
        keras.callbacks.TensorBoard(str(out / "logs"), update_freq="epoch", write_graph=False),
        *extra_callbacks,
    ]
    if val_ds is not None:
        callbacks.insert(3, AtomicModelCheckpoint(out / "checkpoints" / "best.keras", monitor="val_loss"))
    start = time.time()
    with deferred_interrupt() as stop:  # Ctrl-C at the next batch end, as in trainer.py
        model.fit(train_ds, epochs=t.epochs, steps_per_epoch=t.steps_per_epoch, validation_data=val_ds,
                  callbacks=[*callbacks, stop], verbose=fit_verbosity(t.verbose))
    seconds = time.time() - start
    history = history.history
    model_path = save_trained_model(model, config, history, out)
    remove_backup(out / "backup")
    return TrainResult(model=model, model_path=model_path, history=history, seconds=seconds)
