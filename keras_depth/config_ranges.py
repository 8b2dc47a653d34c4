"""The allowed values of a config's numbers and names (``RANGES``, ``LENGTHS``, ``CHOICES``) and the one check of them
(``validate``), run by ``keras_depth.config`` whenever a config loads."""
from __future__ import annotations

import math
import typing
from typing import Any

from keras_depth.errors import UsageError


class Range(typing.NamedTuple):
    """Allowed values of a number: ``lo``/``hi`` (None: unbounded), each end inclusive or not."""

    lo: typing.Optional[float] = None
    hi: typing.Optional[float] = None
    lo_inclusive: bool = True
    hi_inclusive: bool = True

    def __contains__(self, v: object) -> bool:
        # NaN fails every comparison, so it is caught by asking for what is valid.
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            return False
        above = self.lo is None or (v >= self.lo if self.lo_inclusive else v > self.lo)
        below = self.hi is None or (v <= self.hi if self.hi_inclusive else v < self.hi)
        return above and below

    def __str__(self) -> str:
        if self.hi is None:
            return f"{'>=' if self.lo_inclusive else '>'} {self.lo:g}"
        left, right = "[" if self.lo_inclusive else "(", "]" if self.hi_inclusive else ")"
        return f"in {left}{self.lo:g}, {self.hi:g}{right}"


AT_LEAST_1 = Range(1)
NON_NEGATIVE = Range(0)
POSITIVE = Range(0, None, lo_inclusive=False)
FRACTION = Range(0, 1)

# Every number of a config and what it may be: checked when the config loads, so a bad value is a
# one-line error naming its key instead of a traceback (or a silent hang) deep inside Keras.
# ``key[]``: each item of a list; a None value (where the type allows it) is not checked.
RANGES: dict[str, Range] = {
    "seed": NON_NEGATIVE,
    "data.image_size[]": AT_LEAST_1,
    "data.batch_size": AT_LEAST_1,
    "data.shuffle_buffer": NON_NEGATIVE,
    "data.crop_scale[]": Range(0, 1, lo_inclusive=False),
    "data.color_jitter": NON_NEGATIVE,
    "train.epochs": AT_LEAST_1,
    "train.steps_per_epoch": AT_LEAST_1,
    "train.learning_rate": POSITIVE,
    "train.weight_decay": NON_NEGATIVE,
    "train.warmup_epochs": NON_NEGATIVE,
    "train.tensorboard_images": NON_NEGATIVE,
    "train.verbose": Range(0, 2),
    "train.batchnorm_momentum": Range(0, 1, hi_inclusive=False),
    "train.precise_bn_batches": NON_NEGATIVE,
    "train.steps_per_execution": AT_LEAST_1,
    "train.stereo.scales": AT_LEAST_1,
    "train.stereo.alpha": FRACTION,
    "train.stereo.smoothness_weight": NON_NEGATIVE,
    "train.stereo.lr_weight": NON_NEGATIVE,
    "train.stereo.fallback_disparity_scale": POSITIVE,
    "train.stereo.init_depth": POSITIVE,
    "train.demon.pair_step": AT_LEAST_1,
    "train.demon.loss_weights.depth": NON_NEGATIVE,
    "train.demon.loss_weights.gradient": NON_NEGATIVE,
    "train.demon.loss_weights.normals": NON_NEGATIVE,
    "train.demon.loss_weights.rotation": NON_NEGATIVE,
    "train.demon.loss_weights.translation": NON_NEGATIVE,
    "qat.epochs": AT_LEAST_1,
    "qat.steps_per_epoch": AT_LEAST_1,
    "qat.learning_rate": POSITIVE,
    "export.representative_samples": AT_LEAST_1,
    "export.parity_samples": AT_LEAST_1,
    "export.benchmark_threads[]": AT_LEAST_1,
    "export.benchmark_runs": AT_LEAST_1,
    "eval.min_depth": NON_NEGATIVE,
    "eval.max_depth": POSITIVE,
    "eval.crop[]": FRACTION,
    "eval.figure_samples": NON_NEGATIVE,
    "distill.confidence_threshold": POSITIVE,
    "distill.label_short_side": Range(16),
    "distill.holdout": Range(2),
    "distill.latency_runs": AT_LEAST_1,
}
# Training precisions (Keras dtype policies; keras_depth.training.precision).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# Keys whose value is one of a few names.
CHOICES: dict[str, tuple] = {"train.precision": PRECISIONS, "qat.target": ("float_model", "labels")}
# Lists of a fixed length.
LENGTHS: dict[str, int] = {"data.image_size": 2, "data.crop_scale": 2, "eval.crop": 4}


def _lookup(config: Any, key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


def validate(config: Any) -> Any:
    """``config`` if every number is inside its ``RANGES`` entry and every list has its ``LENGTHS``
    length; else a UsageError naming the first bad key."""
    for key, n in LENGTHS.items():
        value = _lookup(config, key)
        if value is not None and len(value) != n:
            raise UsageError(f"config key '{key}': expected a list of {n} numbers, got {value!r}")
    for key, names in CHOICES.items():
        value = _lookup(config, key)
        if value not in names:
            raise UsageError(f"config key '{key}': expected one of {', '.join(names)}, got {value!r}")
    for key, allowed in RANGES.items():
        items = key.endswith("[]")
        name = key[:-2] if items else key
        value = _lookup(config, name)
        for i, v in enumerate(value if items and value is not None else [value]):
            if v is not None and v not in allowed:
                where = f"{name}[{i}]" if items else name
                noun = "an integer" if isinstance(v, int) and not isinstance(v, bool) else "a number"
                raise UsageError(f"config key '{where}': expected {noun} {allowed}, got {v!r}")
    t = config.train
    if t.mixed_precision and t.precision not in ("float32", "mixed_float16"):
        raise UsageError(f"config key 'train.mixed_precision': true means precision mixed_float16, but train.precision "
                         f"is {t.precision!r}; set train.precision alone")
    e = config.eval
    if e.min_depth is not None and e.max_depth is not None and not e.min_depth < e.max_depth:
        raise UsageError(f"config key 'eval.max_depth': expected more than eval.min_depth ({e.min_depth}), got {e.max_depth}")
    if e.crop is not None and not (e.crop[0] < e.crop[1] and e.crop[2] < e.crop[3]):
        raise UsageError(f"config key 'eval.crop': expected [top, bottom, left, right] with top < bottom and left < right, got {e.crop}")
    lo, hi = config.data.crop_scale
    if lo > hi:
        raise UsageError(f"config key 'data.crop_scale': expected [min, max] with min <= max, got {config.data.crop_scale}")
    return config
