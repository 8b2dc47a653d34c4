"""Depth semantics: the one place that says what a depth map or a model output means."""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional, Sequence

from keras_depth.errors import UsageError

# Semantics codes carried by every sample (an int32 in tf.data), so a loss can pick the right
# invariance when datasets of different kinds are mixed (MiDaS, Ranftl et al. 2020, Sec. 4).
METRIC = 0  # depth in metres
RELATIVE = 1  # depth known up to an unknown positive scale
AFFINE_DISPARITY = 2  # disparity (1/depth) known up to an unknown scale and shift
SEMANTICS_NAMES = {METRIC: "metric", RELATIVE: "relative", AFFINE_DISPARITY: "affine_disparity"}
SEMANTICS_CODES = {v: k for k, v in SEMANTICS_NAMES.items()}

# The output encodings: linear depth (m), disparity (1/m, finer steps near) and log depth (ln m, the same
# relative step at every depth). docs/export.md "Output encodings" has the int8 step of each.
OUTPUT_KINDS = ("depth", "disparity", "log_depth")


def check_output_range(kind: str, output_range: Sequence[float]) -> Optional[str]:
    """Why ``output_range`` cannot be the raw range of a ``kind`` output, or None: lo < hi for every
    kind, and 0 < lo for depth and disparity (a log depth may be negative: ln 0.25 m = -1.39)."""
    lo, hi = output_range
    if not lo < hi:
        return "must satisfy lo < hi"
    if kind != "log_depth" and not lo > 0:
        return f"must satisfy 0 < lo < hi for kind {kind!r}"
    return None


def decode_output(kind: str, output_range: Sequence[float], output: Any) -> Any:
    """Depth from a model's raw output (numpy or tf): the output itself for a ``depth`` head,
    ``1 / clip(output, lo, hi)`` for ``disparity``, ``exp(clip(output, lo, hi))`` for ``log_depth``.
    The one decoding of a DepthSpec and of a manifest's ``output`` (``kind``, ``range``;
    docs/contracts.md section 4, step 5)."""
    if kind not in OUTPUT_KINDS:
        raise UsageError(f"output kind: expected one of {OUTPUT_KINDS}, got {kind!r}")
    if kind == "depth":
        return output
    lo, hi = output_range
    import numpy as np

    if isinstance(output, np.ndarray) or np.isscalar(output):
        clipped = np.clip(output, lo, hi)
        return np.exp(clipped) if kind == "log_depth" else 1.0 / clipped
    import tensorflow as tf

    clipped = tf.clip_by_value(output, lo, hi)
    return tf.exp(clipped) if kind == "log_depth" else 1.0 / clipped



def pinned_range(output_range: Sequence[float]) -> tuple[float, float]:
    """The range an int8 output is quantized over (QAT and PTQ alike): [lo, hi] widened to hold 0,
    which TFLite's zero point must represent exactly (``export.output_range``)."""
    lo, hi = (float(v) for v in output_range)
    return min(lo, 0.0), max(hi, 0.0)


@dataclasses.dataclass(frozen=True)
class DepthSpec:
    """What a model outputs: bounded depth (metres), disparity (1/metres) or log depth (ln metres), and
    its valid range.

    A ``depth`` head outputs ``min_depth + (max_depth - min_depth) * sigmoid``; a ``disparity`` head
    outputs ``1/max_depth + (1/min_depth - 1/max_depth) * sigmoid`` (Monodepth's bounded disparity); a
    ``log_depth`` head outputs ``ln min_depth + (ln max_depth - ln min_depth) * sigmoid``.
    """

    kind: str = "depth"
    semantics: str = "metric"
    min_depth: float = 0.1
    max_depth: float = 10.0
    units: str = "m"

    def __post_init__(self) -> None:
        if self.kind not in OUTPUT_KINDS:
            raise UsageError(f"depth spec kind: expected one of {OUTPUT_KINDS}, got {self.kind!r}")
        if self.semantics not in SEMANTICS_CODES:
            raise UsageError(
                f"depth spec semantics: expected one of {sorted(SEMANTICS_CODES)}, got {self.semantics!r}"
            )
        if not (0 < self.min_depth < self.max_depth):
            raise UsageError(
                f"depth spec range: expected 0 < min_depth < max_depth, got {self.min_depth}, {self.max_depth}"
            )

    @property
    def output_range(self) -> tuple[float, float]:
        """The range of the raw model output (depth in m, disparity in 1/m, or log depth in ln m)."""
        if self.kind == "depth":
            return (self.min_depth, self.max_depth)
        if self.kind == "log_depth":
            return (math.log(self.min_depth), math.log(self.max_depth))
        return (1.0 / self.max_depth, 1.0 / self.min_depth)

    def output_to_depth(self, output: Any) -> Any:
        """Depth from the raw output (numpy or tf); disparity and log depth are clipped to their range first."""
        return decode_output(self.kind, self.output_range, output)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DepthSpec":
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise UsageError(f"depth spec: unknown key(s) {sorted(unknown)}")
        return cls(**d)
