"""Resuming an interrupted run: BackupAndRestore's folder records the config it belongs to, and a
different config refuses to resume from it."""
from __future__ import annotations

import json
from pathlib import Path

from keras_depth.config import Config
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_text

# What a resumed run must share with the run that wrote the backup: all of these sections except
# the keys that only change display, placement or where cached frames live.
_RESUME_KEYS = ("seed", "data", "model", "train")
_RESUME_FREE = {"train": ("verbose", "tensorboard_images", "distribute"), "data": ("cache_dir",)}
BACKUP_CONFIG = "config.json"


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


def check_backup_config(config: Config, backup: Path) -> None:
    """Record ``config`` in ``backup``; a UsageError if it holds an interrupted run of another config.

    BackupAndRestore restores whatever checkpoint it finds, so without this a changed model (or
    epochs, hence a different LR schedule) would resume from the wrong run's weights and counters."""
    record = backup / BACKUP_CONFIG
    checkpoints = [p for p in backup.rglob("*") if p.is_file() and p != record] if backup.is_dir() else []
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
