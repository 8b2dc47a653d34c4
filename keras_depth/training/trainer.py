"""``train(config)``: build inside the strategy's scope, ``model.fit`` with resumable callbacks, save.

Training modes (``train.mode``), all through ``model.fit``:

- ``supervised-metric``: depth losses on metric ground truth (e.g. SILog or L1 plus a gradient term);
  the spec's semantics must be metric.
- ``relative``: MiDaS's scale-and-shift-invariant losses on mixed datasets; every sample keeps its
  semantics code and the losses turn metric/relative depth into disparity and align it (Ranftl et
  al., TPAMI 2022, Sec. 5); the spec's semantics is relative or affine_disparity.
- ``self-supervised-stereo``: Monodepth on rectified pairs alone (``keras_depth.training.stereo``);
  the spec's kind is disparity.
- ``demon``: the two-image ``demon_pair`` model on synthetic camera trajectories
  (``keras_depth.training.demon_training``); the spec's kind is disparity.

Whatever the mode, the saved ``model.keras`` is the flat inference model.
"""
from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

import keras_depth.data.semantics_view  # noqa: F401  (registers the "semantics_view" dataset type)
from keras_depth.config import Config, save_config
from keras_depth.data.pipeline import make_dataset, split_size
from keras_depth.data.stereo_pipeline import make_stereo_dataset
from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras
from keras_depth.losses import LOSSES, build_loss
from keras_depth.metrics.keras_metrics import AbsRel, Delta1
from keras_depth.models import build_model_from_config
from keras_depth.spec import DepthSpec
from keras_depth.training.artifacts import TrainResult, save_trained_model
from keras_depth.training.batchnorm import (recompute_batchnorm_statistics, set_batchnorm_momentum,
                                            synchronized_batchnorm)
from keras_depth.training.callbacks import AtomicModelCheckpoint, DepthImageSummary, fit_verbosity
from keras_depth.training.demon_training import DEMON_MODE, train_demon
from keras_depth.training.divergence import StopOnNonFinite, TrainingDiverged
from keras_depth.training.interrupt import deferred_interrupt
from keras_depth.training.label_check import check_training_labels
from keras_depth.training.precision import CopyWeights, needs_twin, precision_policy, resolve_precision, training_twin
from keras_depth.training.resume import BACKUP_HISTORY, ResumedHistory, check_backup_config, remove_backup
from keras_depth.training.stereo import StereoTrainer, build_stereo_trainer
from keras_depth.training.strategy import get_strategy, is_multiworker, shard_by_data, writing_dir

SUPERVISED_MODES = ("supervised-metric", "relative")
STEREO_MODE = "self-supervised-stereo"
MODES = (*SUPERVISED_MODES, STEREO_MODE, DEMON_MODE)
__all__ = ["MODES", "TrainResult", "TrainingDiverged", "build_fit_model", "check_mode", "compile_model", "loss_terms",
           "steps_per_epoch", "train", "training_metrics"]


def check_mode(config: Config) -> DepthSpec:
    """The spec, after checking that ``train.mode`` and ``model.spec`` agree (UsageError if not)."""
    mode = config.train.mode
    if mode not in MODES:
        raise UsageError(f"train.mode {mode!r}: expected one of {MODES}")
    spec = DepthSpec.from_dict(config.model.spec)
    if mode == "supervised-metric" and spec.semantics != "metric":
        raise UsageError(f"model.spec.semantics: train.mode {mode} trains metric depth, got {spec.semantics!r}")
    if mode == "relative" and spec.semantics == "metric":
        raise UsageError("model.spec.semantics: train.mode relative learns relative or affine_disparity, got 'metric'")
    if mode in (STEREO_MODE, DEMON_MODE) and spec.kind != "disparity":
        raise UsageError(f"model.spec.kind: train.mode {mode} predicts disparity, got {spec.kind!r}")
    return spec


def loss_terms(config: Config) -> list[dict]:
    """``train.losses`` with ``prediction`` defaulting to the spec's output kind, so a loss reads a
    disparity head as disparity unless the config says otherwise."""
    kind = DepthSpec.from_dict(config.model.spec).kind
    terms = []
    for term in config.train.losses:
        term = dict(term) if isinstance(term, dict) else term
        name = term.get("name") if isinstance(term, dict) else None
        cls = LOSSES.get(name) if name in LOSSES else None
        if cls is not None and "prediction" in inspect.signature(cls.__init__).parameters:
            term.setdefault("prediction", kind)
        terms.append(term)
    return terms


def training_metrics(config: Config) -> list:
    """Two metrics while training (each is a numpy call per step); ``evaluate`` reports the full set.

    They read the output as the spec says and align as ``eval.alignment`` says (e.g. lstsq_disparity
    for a relative model), so the numbers in the logs are the evaluator's."""
    kind = DepthSpec.from_dict(config.model.spec).kind
    alignment = config.eval.alignment
    return [AbsRel(alignment=alignment, prediction=kind), Delta1(alignment=alignment, prediction=kind)]


def compile_model(model: keras.Model, config: Config, steps_per_epoch: int, epochs: int, learning_rate: float,
                  steps_per_execution: int = 1) -> None:
    """Optimizer (AdamW, warmup + cosine decay), loss and metrics of ``config``. In stereo mode
    ``model`` is the ``StereoTrainer`` (its loss is its own); supervised modes take the flat model."""
    t = config.train
    total = max(1, steps_per_epoch * epochs)
    warmup = min(int(t.warmup_epochs * steps_per_epoch), total - 1)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate * 0.1 if warmup else learning_rate,
        decay_steps=total - warmup,
        alpha=0.05,
        warmup_target=learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=t.weight_decay)
    if t.mode == STEREO_MODE:
        if not isinstance(model, StereoTrainer):
            raise UsageError(
                f"train.mode {STEREO_MODE}: compile the StereoTrainer around model {model.name!r} "
                "(keras_depth.training.stereo.build_stereo_trainer), not the flat model"
            )
        model.compile(optimizer=optimizer, metrics=training_metrics(config))
        return
    model.compile(optimizer=optimizer, loss=build_loss(loss_terms(config)), metrics=training_metrics(config),
                  steps_per_execution=steps_per_execution)


def build_fit_model(config: Config, steps_per_epoch: int) -> tuple[keras.Model, keras.Model]:
    """(the inference model, the model that ``fit`` trains) of ``config``, compiled for
    ``steps_per_epoch`` steps: the model itself, its mixed-precision / XLA twin (``train.precision``,
    ``train.jit_compile``) or, in stereo mode, the ``StereoTrainer`` around it.

    Call it inside the strategy's scope and ``precision_policy()``: the model is built in float32,
    then the global policy is set to ``train.precision`` for the twin and Keras' loss scaling."""
    t = config.train
    precision = resolve_precision(t)
    model = build_model_from_config(config.model, config.data.image_size)
    keras.mixed_precision.set_global_policy(precision)
    set_batchnorm_momentum(model, t.batchnorm_momentum)
    fit_model = model
    if t.mode == STEREO_MODE:
        fit_model = build_stereo_trainer(model, DepthSpec.from_dict(config.model.spec), t.stereo)
    elif needs_twin(precision, t.jit_compile):
        fit_model = training_twin(model, precision, t.jit_compile)
    compile_model(fit_model, config, steps_per_epoch, t.epochs, t.learning_rate, t.steps_per_execution)
    return model, fit_model


def steps_per_epoch(config: Config, split: str, override: Optional[int]) -> int:
    if override:
        return int(override)
    n = split_size(config, split)
    if n is None:
        raise UsageError(f"data.{split} streams with unknown length: set train.steps_per_epoch")
    return max(1, n // config.data.batch_size)


def train(config: Config, resume: bool = True, extra_callbacks: Sequence = ()) -> TrainResult:
    """Train ``config``; re-running the same command after an interruption resumes (BackupAndRestore).

    Raises ``TrainingDiverged`` at the first non-finite loss. Under ``train.distribute: multiworker``
    every worker runs this; only the chief writes into ``output_dir`` (``strategy.writing_dir``)."""
    spec = check_mode(config)
    if config.train.mode == DEMON_MODE:
        return train_demon(config, resume, extra_callbacks)
    stereo = config.train.mode == STEREO_MODE
    if config.train.precise_bn_batches < 0 or (stereo and config.train.precise_bn_batches):
        raise UsageError(f"train.precise_bn_batches: expected an integer >= 0 (supervised modes only), "
                         f"got {config.train.precise_bn_batches} in mode {config.train.mode}")
    strategy = get_strategy(config.train.distribute)  # first: MultiWorkerMirroredStrategy must precede any op
    backup = Path(config.output_dir) / "backup"  # shared: BackupAndRestore keeps it chief-only itself
    with writing_dir(config.output_dir, strategy) as out:
        out.mkdir(parents=True, exist_ok=True)
        if strategy.extended.should_checkpoint:
            if not resume:
                remove_backup(backup)
            check_backup_config(config, backup)  # before anything is built: a mismatch fails fast
        check_training_labels(config)  # no usable labels, or labels the losses cannot use: refused before fit
        keras.utils.set_random_seed(config.seed)
        precision = resolve_precision(config.train)
        if stereo and needs_twin(precision, config.train.jit_compile):
            raise UsageError(f"train.precision {precision} / train.jit_compile: supervised modes only, "
                             f"not train.mode {config.train.mode}")
        save_config(config, out / "config.json")
        with precision_policy():  # float32 again afterwards: QAT and export follow in the same process
            return _fit(config, spec, stereo, strategy, out, backup, extra_callbacks)


def _fit(config: Config, spec: DepthSpec, stereo: bool, strategy: tf.distribute.Strategy, out: Path,
         backup: Path, extra_callbacks: Sequence) -> TrainResult:
    datasets = _stereo_datasets if stereo else make_dataset
    train_ds = datasets(config, "train")
    val_ds = datasets(config, "val")
    if is_multiworker(strategy):
        train_ds, val_ds = shard_by_data(train_ds), shard_by_data(val_ds)
    steps = steps_per_epoch(config, "train", config.train.steps_per_epoch)
    with strategy.scope():
        model, fit_model = build_fit_model(config, steps)
    twin = fit_model is not model and not stereo

    xs, ys = _summary_batch(config, stereo)
    chief = strategy.extended.should_checkpoint
    history = ResumedHistory((backup if chief else out) / BACKUP_HISTORY)
    callbacks = [
        *([CopyWeights(model)] if fit_model is not model and not stereo else []),  # before the checkpoint
        StopOnNonFinite(backup),
        history,  # before BackupAndRestore: an epoch's logs are written before its checkpoint
        # kept until the run's files are written (remove_backup): a re-run after the last epoch then
        # resumes past it and only saves
        keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=False),
        AtomicModelCheckpoint(out / "checkpoints" / "best.keras", monitor="val_loss", target=model),
        keras.callbacks.TensorBoard(str(out / "logs"), update_freq="epoch", write_graph=False),
        DepthImageSummary(out / "logs", xs, ys, spec.min_depth, spec.max_depth, target=model, to_depth=spec.output_to_depth),
        *extra_callbacks,
    ]
    start = time.time()
    with synchronized_batchnorm(fit_model if twin else model, config.train.sync_batchnorm), deferred_interrupt() as stop:
        fit_model.fit(
            train_ds,
            epochs=config.train.epochs,
            steps_per_epoch=steps,
            validation_data=val_ds,
            callbacks=[*callbacks, stop],  # last: an epoch that ended is saved before it stops
            verbose=fit_verbosity(config.train.verbose),
        )
    seconds = time.time() - start
    if twin:
        model.set_weights(fit_model.get_weights())  # also when BackupAndRestore resumed past the last epoch
    if config.train.precise_bn_batches:
        t = time.time()
        n = recompute_batchnorm_statistics(model, train_ds, config.train.precise_bn_batches, strategy)
        print(f"  BatchNorm statistics recomputed over {n} training batches ({time.time() - t:.0f} s)", flush=True)
    model_path = save_trained_model(model, config, history.history, out)
    if chief:
        remove_backup(backup)
    return TrainResult(model=model, model_path=model_path, history=history.history, seconds=seconds)


def _stereo_datasets(config: Config, split: str) -> tf.data.Dataset:
    return make_stereo_dataset(config, split)


def _summary_batch(config: Config, stereo: bool) -> tuple[np.ndarray, np.ndarray]:
    """A few held-out images and their packed targets for the TensorBoard image summary."""
    n = max(1, config.train.tensorboard_images)
    if stereo:
        batch = next(iter(make_stereo_dataset(config, "val", batch_size=n, labels=True)))
        x, y = batch if isinstance(batch, tuple) else (batch, None)
        xs = x["image"].numpy()
        ys = y.numpy() if y is not None else np.zeros(xs.shape[:3] + (3,), np.float32)
        return xs, ys
    xs, ys = next(iter(make_dataset(config, "val", batch_size=n)))
    return xs.numpy(), ys.numpy()
