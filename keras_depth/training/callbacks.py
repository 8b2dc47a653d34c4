"""Callbacks: atomic best-model checkpoints and colour-mapped depth images in TensorBoard."""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from keras_depth.kerasapi import keras
from keras_depth.models.io import save_model_atomic
from keras_depth.visualize import colorize


def fit_verbosity(verbose: int) -> int:
    """``model.fit``'s ``verbose``: the progress bar (1) only on a terminal, one line per epoch (2) in logs."""
    return verbose if sys.stdout.isatty() or verbose != 1 else 2


def predict_replicated(model: keras.Model, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """``model.predict(x)`` that also works under a strategy of several replicas for any ``len(x)``.

    Keras splits each predict batch across the replicas; a batch smaller than the replica count gives
    some replica (under MultiWorkerMirroredStrategy, a whole worker) an empty batch, which
    synchronized BatchNormalization cannot take, and the worker dies. So ``x`` is padded, with copies
    of its last image, to a multiple of the replica count, and so is the batch size; the padding's
    predictions are dropped. Every worker calls this at the same point, as collective ops require."""
    replicas = model.distribute_strategy.num_replicas_in_sync
    n = len(x)
    if replicas <= 1 or n == 0:
        return model.predict(x, batch_size=batch_size, verbose=0)
    padded = -(-n // replicas) * replicas
    batch = max(1, batch_size // replicas) * replicas
    xp = np.concatenate([x, np.repeat(x[-1:], padded - n, axis=0)]) if padded > n else x
    return model.predict(xp, batch_size=batch, verbose=0)[:n]


class AtomicModelCheckpoint(keras.callbacks.Callback):
    """ModelCheckpoint's ``save_best_only`` behaviour, with atomic writes (Keras writes in place)."""

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", mode: str = "min",
                 target: Optional[keras.Model] = None):
        """``target``: the model to save when it is not the one being fit (the flat inference model
        inside a training wrapper)."""
        super().__init__()
        self.target = target
        self.filepath = Path(filepath)
        self.monitor = monitor
        self.sign = 1.0 if mode == "min" else -1.0
        self.best = math.inf

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value):
            return
        if self.sign * value < self.best:
            self.best = self.sign * value
            save_model_atomic(self.target or self.model, self.filepath)


class DepthImageSummary(keras.callbacks.Callback):
    """Writes input | ground truth | prediction, colour-mapped, to TensorBoard after every epoch."""

    def __init__(self, log_dir: str | os.PathLike, x: np.ndarray, y: np.ndarray, vmin: float, vmax: float,
                 target: Optional[keras.Model] = None, to_depth: Optional[Callable[[np.ndarray], np.ndarray]] = None):
        """``target``: the model to run when it is not the one being fit; ``to_depth``: the model
        output -> depth (``DepthSpec.output_to_depth``), for disparity heads."""
        super().__init__()
        self.writer = tf.summary.create_file_writer(str(Path(log_dir) / "images"))
        self.x, self.y, self.vmin, self.vmax = x, y, vmin, vmax
        self.target, self.to_depth = target, to_depth

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        pred = predict_replicated(self.target or self.model, self.x)
        if self.to_depth is not None:
            pred = self.to_depth(pred)
        rows = []
        for i in range(len(self.x)):
            img = (np.clip(self.x[i], 0, 1) * 255).astype(np.uint8)
            gt = colorize(self.y[i, ..., 0], self.vmin, self.vmax, mask=self.y[i, ..., 1])
            pr = colorize(pred[i, ..., 0], self.vmin, self.vmax)
            rows.append(np.concatenate([img, gt, pr], axis=1))
        with self.writer.as_default():
            tf.summary.image("input|gt|prediction", np.stack(rows), step=epoch, max_outputs=len(rows))
        self.writer.flush()
