"""``train(config)``: build inside the strategy's scope, ``model.fit`` with resumable callbacks, save."""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from keras_depth.config import Config, save_config
from keras_depth.data.pipeline import make_dataset, split_size
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_text
from keras_depth.kerasapi import keras
from keras_depth.models import build_model_from_config
from keras_depth.spec import DepthSpec
from keras_depth.training.callbacks import AtomicModelCheckpoint, DepthImageSummary, save_model_atomic
from keras_depth.training.strategy import get_strategy

SUPERVISED_MODES = ("supervised-metric", "relative")


@dataclasses.dataclass
class TrainResult:
    model: keras.Model
    model_path: Path
    history: dict
    seconds: float


def model_meta(config: Config) -> dict:
    """What prediction needs besides the weights (monodepth2 keeps this next to the model)."""
    h, w = config.data.image_size
    return {
        "input": {"height": h, "width": w, "channel_order": "RGB", "normalization": {"scale": [1 / 255.0] * 3, "offset": [0.0] * 3}},
        "spec": config.model.spec,
        "model": {"name": config.model.name, "params": config.model.params},
        "config_sha256": config.sha256(),
    }


def compile_model(model: keras.Model, config: Config, steps_per_epoch: int, epochs: int, learning_rate: float) -> None:
    from keras_depth.losses import build_loss
    from keras_depth.metrics.keras_metrics import AbsRel, Delta1

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
    # Two metrics while training (each is a numpy call per step); `evaluate` reports the full set.
    model.compile(optimizer=optimizer, loss=build_loss(t.losses), metrics=[AbsRel(), Delta1()])


def _steps(config: Config, split: str, override: Optional[int]) -> int:
    if override:
        return int(override)
    n = split_size(config, split)
    if n is None:
        raise UsageError(f"data.{split} streams with unknown length: set train.steps_per_epoch")
    return max(1, n // config.data.batch_size)


def train(config: Config, resume: bool = True, extra_callbacks: Sequence = ()) -> TrainResult:
    """Train ``config``; re-running the same command after an interruption resumes (BackupAndRestore)."""
    if config.train.mode not in SUPERVISED_MODES:
        raise UsageError(f"train.mode {config.train.mode!r}: expected one of {SUPERVISED_MODES}")
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    if config.train.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    save_config(config, out / "config.json")

    train_ds = make_dataset(config, "train")
    val_ds = make_dataset(config, "val")
    steps = _steps(config, "train", config.train.steps_per_epoch)

    strategy = get_strategy(config.train.distribute)
    with strategy.scope():
        model = build_model_from_config(config.model, config.data.image_size)
        compile_model(model, config, steps, config.train.epochs, config.train.learning_rate)

    spec = DepthSpec.from_dict(config.model.spec)
    xs, ys = next(iter(make_dataset(config, "val", batch_size=max(1, config.train.tensorboard_images))))
    callbacks = [
        keras.callbacks.BackupAndRestore(str(out / "backup"), delete_checkpoint=True),
        AtomicModelCheckpoint(out / "checkpoints" / "best.keras", monitor="val_loss"),
        keras.callbacks.TensorBoard(str(out / "logs"), update_freq="epoch", write_graph=False),
        DepthImageSummary(out / "logs", xs.numpy(), ys.numpy(), spec.min_depth, spec.max_depth),
        keras.callbacks.TerminateOnNaN(),
        *extra_callbacks,
    ]
    if not resume:
        import shutil

        shutil.rmtree(out / "backup", ignore_errors=True)
    verbose = config.train.verbose if sys.stdout.isatty() or config.train.verbose != 1 else 2
    start = time.time()
    hist = model.fit(
        train_ds,
        epochs=config.train.epochs,
        steps_per_epoch=steps,
        validation_data=val_ds,
        callbacks=callbacks,
        verbose=verbose,
    )
    seconds = time.time() - start
    if hist.history and not np.isfinite(hist.history.get("loss", [0.0])[-1]):
        raise RuntimeError("training diverged (loss is NaN/Inf); lower train.learning_rate")
    model_path = out / "model.keras"
    save_model_atomic(model, model_path)
    atomic_write_text(out / "model_meta.json", json.dumps(model_meta(config), indent=2))
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    atomic_write_text(out / "history.json", json.dumps(history, indent=2))
    return TrainResult(model=model, model_path=model_path, history=history, seconds=seconds)


def load_trained_model(path: str | Path) -> keras.Model:
    """A model written by ``train`` (no custom objects needed: the graph is stock Keras layers)."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"model not found: {p}")
    return keras.models.load_model(p, compile=False)
