"""Resuming an interrupted run: BackupAndRestore's folder records the config it belongs to (a
different config refuses to resume from it) and the per-epoch logs of the epochs already done, so the
run's ``history.json`` holds every epoch however often it was interrupted."""
from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Optional

from keras_depth.config import Config
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_text
from keras_depth.kerasapi import keras

# What a resumed run must share with the run that wrote the backup: all of these sections except
# the keys that only change display, placement or where cached frames live.
_RESUME_KEYS = ("seed", "data", "model", "train")
_RESUME_FREE = {"train": ("verbose", "tensorboard_images", "distribute"), "data": ("cache_dir",)}
BACKUP_CONFIG = "config.json"
BACKUP_HISTORY = "history.json"
# Where a non-chief worker's BackupAndRestore writes (and deletes) its copy (tf_keras's
# distributed_file_utils): not a checkpoint of the run.
WORKER_TEMP_PREFIX = "workertemp_"


def _resume_fingerprint(config: Config) -> dict:
    d = config.to_dict()
    fp = {k: d[k] for k in _RESUME_KEYS}
    for section, free in _RESUME_FREE.items():
        fp[section] = {k: v for k, v in fp[section].items() if k not in free}
    return json.loads(json.dumps(fp, sort_keys=True))


def _changed_keys(a: object, b: object, prefix: str = "") -> list[str]:
    """Dotted paths where two nested dicts differ (e.g. ``train.epochs``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [p for k in sorted(set(a) | set(b)) for p in _changed_keys(a.get(k), b.get(k), f"{prefix}{k}.")]
    return [] if a == b else [prefix.rstrip(".")]


def remove_backup(backup: Path) -> None:
    """Delete the backup folder, called once the run's files are written. BackupAndRestore's own
    deletion (``delete_checkpoint``) happens inside ``fit``, before the model is saved: a kill between
    the two would lose the whole run. The rename makes the deletion all-or-nothing: a kill during
    ``rmtree`` leaves the renamed folder, never a half-deleted backup that reads as a fresh start."""
    trash = backup.with_name(f".{backup.name}.deleting")
    shutil.rmtree(trash, ignore_errors=True)
    if backup.exists():
        os.replace(backup, trash)
    shutil.rmtree(trash, ignore_errors=True)


def check_backup_config(config: Config, backup: Path) -> None:
    """Record ``config`` in ``backup``; a UsageError if it holds an interrupted run of another config.

    BackupAndRestore restores whatever checkpoint it finds, so without this a changed model (or
    epochs, hence a different LR schedule) would resume from the wrong run's weights and counters."""
    record = backup / BACKUP_CONFIG
    ours = {record, backup / BACKUP_HISTORY}
    checkpoints = [p for p in backup.rglob("*") if p.is_file() and p not in ours
                   and not p.relative_to(backup).parts[0].startswith(WORKER_TEMP_PREFIX)] if backup.is_dir() else []
    want = _resume_fingerprint(config)
    if checkpoints:
        try:
            have = json.loads(record.read_text())
        except (OSError, ValueError):
            have = None
        if have != want:
            diff = _changed_keys(have, want) if isinstance(have, dict) else ["no config recorded"]
            shown = ", ".join(diff[:4]) + (f" and {len(diff) - 4} more" if len(diff) > 4 else "")
            raise UsageError(
                f"{backup} holds an interrupted run of a different config ({shown}); "
                f"to start over, re-run with --no-resume or delete {backup}"
            )
        return
    backup.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record, json.dumps(want, indent=2, sort_keys=True))


class ResumedHistory(keras.callbacks.Callback):
    """The logs of every epoch of a run, interrupted or not: read from ``path`` when training begins,
    written to it (atomically) at each epoch end; ``history`` is the whole run's.

    Placed before BackupAndRestore in the callback list, so an epoch's logs are on disk before its
    checkpoint: a kill between the two makes the re-run repeat that epoch, and the logs of epochs at
    or after the one a run starts from are dropped when it starts."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        self.history: dict[str, list[float]] = {}
        self._started: Optional[int] = None

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        try:
            loaded = json.loads(self.path.read_text())
        except (OSError, ValueError):
            loaded = {}
        self.history = {k: [float(x) for x in v] for k, v in loaded.items()} if isinstance(loaded, dict) else {}
        self._started = None

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        if self._started is None:
            self._started = epoch
            self.history = {k: v[:epoch] for k, v in self.history.items()}

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        for key, value in (logs or {}).items():
            # An epoch whose logs were lost (or a key that appeared late) reads NaN, never shifts the others.
            column = self.history.setdefault(key, [])
            column.extend([math.nan] * (epoch - len(column)))
            column[epoch:] = [float(value)]
        atomic_write_text(self.path, json.dumps(self.history, indent=2))
