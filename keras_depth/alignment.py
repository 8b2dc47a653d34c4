"""Metric scale from sparse metric points: N (pixel, depth) pairs, e.g. an AR session's tracked
feature points and hit tests, make a relative prediction metric.

- Depth models (metric or relative depth, up to scale): one factor ``s`` with ``s * pred ~= depth``.
  The robust estimate is the median of the ratios ``depth / pred``; the points whose ratio lies
  within ``tau`` (relative) of it are the inliers, and the fit is the geometric mean of their ratios
  (the median itself when no ratio is that close, as with two far-apart points).
- Affine-invariant disparity models (MiDaS): ``scale * pred + shift ~= 1 / depth``. With two or more
  points this is RANSAC over least squares: every hypothesis is the exact line through two points
  (pairs from the LCG below, or all pairs when there are few), its inliers are the points whose
  depth it predicts within ``tau`` (``|1 / (scale * pred + shift) / depth - 1| <= tau``, with a
  positive disparity), the hypothesis with most inliers wins (ties: lower summed residual), and the
  answer is the least-squares line over its inliers (MiDaS, Ranftl et al. 2020, eq. 4). With one
  point the shift is unknown and only a scale is fitted (disparity 0 stays at infinity).

The inlier rule and the hypothesis order are the same in depth-core's ``Alignment.kt``, checked on
the same fixture (``android_demo/depth-core/src/test/resources/fixtures/sparse_alignment.json``).

Degenerate input raises :class:`~keras_depth.errors.UsageError` with a one-line reason, never NaN:
no points, a point outside the image, a non-positive or non-finite depth, no finite positive
prediction at the points, or (scale and shift) all points at one depth or one predicted value.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from keras_depth.errors import UsageError
from keras_depth.geometry import lstsq_scale_shift

# A point is an inlier when the fit predicts its depth within 20 %: a tracked AR feature point is
# good to a few percent, a wrong match or a hit test on the wrong surface is off by far more.
INLIER_TAU = 0.2
# All pairs up to this many points (435 pairs at 30), LCG-drawn pairs above it.
ALL_PAIRS_UP_TO = 30
RANSAC_PAIRS = 500
# Numerical Recipes' 32-bit LCG: the same pairs in Python and Kotlin without a shared RNG library.
LCG_A, LCG_C, LCG_SEED = 1664525, 1013904223, 12345


@dataclasses.dataclass(frozen=True)
class PointFit:
    """``scale * pred + shift`` is metric: depth for depth models, disparity for disparity models."""

    scale: float
    shift: float
    space: str  # "depth" or "disparity"
    inliers: int
    points: int

    def apply(self, pred: np.ndarray) -> np.ndarray:
        """Metric depth from the model's prediction (NaN where the aligned disparity is not positive)."""
        v = self.scale * np.asarray(pred, np.float64) + self.shift
        if self.space == "depth":
            return v.astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.isfinite(v) & (v > 0), 1.0 / v, np.nan).astype(np.float32)


def sample_points(pred: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(pred at each point, depth)`` for points given as rows ``(x, y, depth)`` in pixel indices of
    ``pred`` (nearest pixel). Raises on a point outside the image or with an invalid depth."""
    pts = np.asarray(points, np.float64).reshape(-1, 3)
    if len(pts) == 0:
        raise UsageError("sparse alignment: no points given (N = 0)")
    h, w = pred.shape[:2]
    xi = np.floor(pts[:, 0] + 0.5).astype(np.int64)
    yi = np.floor(pts[:, 1] + 0.5).astype(np.int64)
    outside = ~((xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)) | ~np.isfinite(pts[:, :2]).all(axis=1)
    if outside.any():
        i = int(np.argmax(outside))
        raise UsageError(f"sparse alignment: point {i} at ({pts[i, 0]:g}, {pts[i, 1]:g}) lies outside the {w}x{h} image")
    bad = ~(np.isfinite(pts[:, 2]) & (pts[:, 2] > 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise UsageError(f"sparse alignment: point {i} has depth {pts[i, 2]:g}; depths must be positive metres")
    return np.asarray(pred, np.float64)[yi, xi], pts[:, 2]


def fit_depth_scale(pred: np.ndarray, depth: np.ndarray, tau: float = INLIER_TAU) -> PointFit:
    """Scale-only fit for a depth prediction (``pred`` at the points, ``depth`` their metric depth)."""
    ok = np.isfinite(pred) & (pred > 0)
    if not ok.any():
        raise UsageError("sparse alignment: the prediction has no finite positive depth at any of the points")
    ratios = depth[ok] / pred[ok]
    med = float(np.median(ratios))
    inl = np.abs(ratios / med - 1.0) <= tau
    if not inl.any():  # an even count whose two middle ratios straddle a gap: the median itself
        return PointFit(med, 0.0, "depth", 0, len(depth))
    scale = float(np.exp(np.mean(np.log(ratios[inl]))))
    return PointFit(scale, 0.0, "depth", int(inl.sum()), len(depth))


def lcg_pairs(n: int, count: int = RANSAC_PAIRS) -> list[tuple[int, int]]:
    """The RANSAC hypotheses' point pairs: all pairs (i < j) for n <= ALL_PAIRS_UP_TO, else ``count``
    pairs of distinct indices drawn with the LCG (``state = (A * state + C) mod 2^32``; index =
    ``(state >> 8) mod n``), the same sequence as Alignment.kt."""
    if n <= ALL_PAIRS_UP_TO:
        return [(i, j) for i in range(n) for j in range(i + 1, n)]
    state, out = LCG_SEED, []
    while len(out) < count:
        state = (LCG_A * state + LCG_C) % 2**32
        i = (state >> 8) % n
        state = (LCG_A * state + LCG_C) % 2**32
        j = (state >> 8) % n
        if i != j:
            out.append((int(i), int(j)))
    return out


def depth_residuals(scale: float, shift: float, x: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """``|predicted depth / depth - 1|`` of the disparity line at each point (inf where its disparity is
    not positive): a point is an inlier when this is at most ``tau``."""
    disp = scale * x + shift
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.abs(1.0 / (disp * depth) - 1.0)
    return np.where(disp > 0, r, np.inf)


def fit_disparity_scale_shift(pred: np.ndarray, depth: np.ndarray, tau: float = INLIER_TAU) -> PointFit:
    """Scale and shift in disparity (``pred`` at the points, ``depth`` their metric depth), by RANSAC."""
    ok = np.isfinite(pred)
    x, depth = pred[ok], depth[ok]
    n = len(x)
    if n == 0:
        raise UsageError("sparse alignment: the prediction is not finite at any of the points")
    y = 1.0 / depth
    if n == 1:
        if not x[0] > 0:
            raise UsageError("sparse alignment: one point, and the predicted disparity there is not positive")
        return PointFit(float(y[0] / x[0]), 0.0, "disparity", 1, 1)
    if np.ptp(depth) <= 1e-6 * float(depth.max()):
        raise UsageError(f"sparse alignment: all {n} points lie at one depth ({depth[0]:g} m): scale and shift are not determined")
    if np.ptp(x) <= 1e-9 * max(float(np.abs(x).max()), 1e-12):
        raise UsageError(f"sparse alignment: the prediction is the same at all {n} points: scale and shift are not determined")
    best, best_key = None, None
    for i, j in lcg_pairs(n):
        if x[i] == x[j]:
            continue
        scale = (y[j] - y[i]) / (x[j] - x[i])
        shift = y[i] - scale * x[i]
        r = depth_residuals(scale, shift, x, depth)
        inl = r <= tau
        key = (int(inl.sum()), -float(r[inl].sum()))
        if best_key is None or key > best_key:
            best, best_key = inl, key
    if best is None or best.sum() < 2:
        best = np.ones(n, bool)
    scale, shift = lstsq_scale_shift(x[best], y[best])
    if not (math.isfinite(scale) and math.isfinite(shift)):
        raise UsageError("sparse alignment: the scale/shift fit is not finite")
    return PointFit(scale, shift, "disparity", int(best.sum()), n)


def align_to_points(pred: np.ndarray, points: np.ndarray | Sequence[Sequence[float]], semantics: str,
                    tau: float = INLIER_TAU) -> PointFit:
    """The fit of a prediction map to sparse metric points (rows ``x, y, depth`` in the map's pixels),
    by the model's output semantics: ``metric`` or ``relative`` (depth, scale) or ``affine_disparity``
    (disparity, scale and shift)."""
    at, depth = sample_points(pred, np.asarray(points, np.float64))
    if semantics in ("metric", "relative"):
        return fit_depth_scale(at, depth, tau)
    if semantics == "affine_disparity":
        return fit_disparity_scale_shift(at, depth, tau)
    raise UsageError(f"sparse alignment: unknown semantics {semantics!r}")
