"""Before ``model.fit``: does every dataset of a supervised run have labels its losses can use?

A dataset whose samples are all bad (every one skipped) or whose depth maps hold no valid pixel would
train on a loss of 0 with NaN metrics and still write ``model.keras``; metric losses (L1, SILog in
metres) on relative-depth samples train to the wrong target without a word. Each entry of
``data.train`` and ``data.val`` is read for its first ``SAMPLES`` samples (before shuffling and
repeating, so the check ends) and refused with a one-line error naming it. With ``data.strict`` the
first bad sample fails here, naming its file.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from keras_depth.config import Config
from keras_depth.data.readers.source import bad_data_counts, reraise_data_error
from keras_depth.data.registry import build_dataset
from keras_depth.errors import DataError, UsageError
from keras_depth.spec import SEMANTICS_NAMES

SAMPLES = 16
# Which sample semantics each supervised mode's losses can use (keras_depth.training.trainer).
USABLE_SEMANTICS = {
    "supervised-metric": ("metric",),
    "relative": ("metric", "relative", "affine_disparity"),
}


def _label(split: str, i: int, entry: Any) -> str:
    what = entry.get("type") if isinstance(entry, dict) else entry
    path = entry.get("path") if isinstance(entry, dict) else None
    return f"data.{split}[{i}] ({what}{' ' + str(path) if path else ''})"


def check_entry(config: Config, split: str, i: int, entry: Any, mode: str) -> None:
    """DataError/UsageError naming ``data.SPLIT[i]`` when its first samples have no usable label."""
    where = _label(split, i, entry)
    context = {"cache_dir": config.data.cache_dir, "strict": config.data.strict, "seed": config.seed}
    skipped_before = sum(bad_data_counts().values())
    n = valid = 0
    kinds: set[str] = set()
    try:
        for sample in build_dataset(entry, **context).take(SAMPLES):
            n += 1
            valid += int(np.count_nonzero(sample["mask"].numpy() > 0.5))
            kinds.add(SEMANTICS_NAMES.get(int(sample["semantics"].numpy()), "unknown"))
    except (tf.errors.OpError, StopIteration) as e:
        reraise_data_error(e)
        raise
    if n == 0:
        skipped = sum(bad_data_counts().values()) - skipped_before
        why = f"all {skipped} skipped as bad (see the warnings above)" if skipped else "it is empty"
        raise DataError(f"{where}: no usable sample: {why}")
    if valid == 0:
        raise DataError(f"{where}: no depth labels: its first {n} samples have no valid depth pixel "
                        f"(training would see a loss of 0 and NaN metrics)")
    wrong = sorted(kinds - set(USABLE_SEMANTICS[mode]))
    if wrong:
        raise UsageError(f"{where}: {', '.join(wrong)}-depth labels, but train.mode {mode} trains with losses on "
                         f"{' or '.join(USABLE_SEMANTICS[mode])} depth; use train.mode relative (and a relative model.spec)")


def check_training_labels(config: Config) -> None:
    """``check_entry`` for every entry of ``data.train`` and ``data.val`` of a supervised mode."""
    mode = config.train.mode
    if mode not in USABLE_SEMANTICS:
        return  # self-supervised modes learn from images alone
    for split in ("train", "val"):
        entries = getattr(config.data, split)
        if not isinstance(entries, list) or not entries:
            raise UsageError(f"config key 'data.{split}': expected a non-empty list of datasets")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or "type" not in entry:
                raise UsageError(f"config key 'data.{split}[{i}]': expected a mapping with a 'type' key")
            check_entry(config, split, i, entry, mode)
