"""Training that diverges stops at once, naming where, and leaves the last good checkpoint alone.

Keras's ``TerminateOnNaN`` ends ``fit`` normally after a NaN, so the epoch-end callbacks still run:
``BackupAndRestore`` would then back up NaN weights over the last good state. Raising from the batch
hook instead skips every later hook, so neither the backup nor ``checkpoints/best.keras`` is touched.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

from keras_depth.kerasapi import keras


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or Inf. ``epoch`` and ``step`` count from 1. The CLI turns it into
    one ``error:`` line and exit code 1."""

    def __init__(self, epoch: int, step: int, loss: float, backup: Optional[Path] = None, last_good_epoch: int = 0):
        self.epoch, self.step, self.loss, self.backup, self.last_good_epoch = epoch, step, loss, backup, last_good_epoch
        if last_good_epoch:
            advice = (f"the last good checkpoint (end of epoch {last_good_epoch}) is kept in {backup}; "
                      "lower train.learning_rate and re-run with --no-resume")
        else:
            advice = "before any epoch ended, so there is no checkpoint to keep; lower train.learning_rate"
        super().__init__(f"training diverged: the loss is {loss} at epoch {epoch}, step {step}; {advice}")


class StopOnNonFinite(keras.callbacks.Callback):
    """Raises ``TrainingDiverged`` from the first batch whose loss is not finite. ``backup``: the
    BackupAndRestore folder, named in the message."""

    def __init__(self, backup: Optional[Path] = None):
        super().__init__()
        self.backup = backup
        self.epoch = 0
        self.first_epoch: Optional[int] = None

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        self.epoch = epoch
        if self.first_epoch is None:
            self.first_epoch = epoch  # after a resume, the epochs before it are in the backup

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            # The backup holds the last epoch that ended (this run's, or the one it resumed from).
            raise TrainingDiverged(self.epoch + 1, batch + 1, float(loss), self.backup, last_good_epoch=self.epoch)
