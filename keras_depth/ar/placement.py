"""Where the virtual object goes, and how relative depth is made metric enough to occlude it.

A relative-depth model knows disparity only up to scale and shift (MiDaS), so each frame is aligned
to metric references, ``metric_disparity = scale * relative_disparity + shift``: ``Alignment`` holds
that map; the fit itself is the one of ``keras_depth.alignment`` (``ar.pipeline`` calls it).
"""
from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Optional

import numpy as np

from keras_depth.errors import DataError, UsageError

# A relative-depth model with only a pixel anchor has no metric reference: the anchor is taken to
# be this far away, so the object has a size in metres. --distance replaces it with a known value.
NOMINAL_ANCHOR_DEPTH = 2.0


@dataclasses.dataclass(frozen=True)
class MetricPoint:
    """A metric depth sample (metres) at pixel (x, y) of some image, e.g. an AR plane hit; (x, y) are
    pixel indices (continuous), the pixel's centre lying at (x + 0.5, y + 0.5) (``keras_depth.geometry``)."""

    x: float
    y: float
    depth: float

    def scaled(self, sx: float, sy: float) -> "MetricPoint":
        """The same point in an image resized by (sx, sy) (pixel centres kept)."""
        return MetricPoint((self.x + 0.5) * sx - 0.5, (self.y + 0.5) * sy - 0.5, self.depth)


@dataclasses.dataclass(frozen=True)
class Alignment:
    """Maps relative disparity to metric disparity: ``metric = scale * relative + shift``."""

    scale: float = 1.0
    shift: float = 0.0

    def disparity(self, relative_disparity: np.ndarray) -> np.ndarray:
        return (self.scale * np.asarray(relative_disparity, np.float64)).astype(np.float32) + np.float32(self.shift)


IDENTITY = Alignment(1.0, 0.0)


def depth_to_disparity(depth: np.ndarray) -> np.ndarray:
    """1 / depth, NaN where depth is not finite and positive."""
    d = np.asarray(depth, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(d) & (d > 0), 1.0 / d, np.nan).astype(np.float32)


disparity_to_depth = depth_to_disparity  # the same map both ways


def sample(values: np.ndarray, x: float, y: float, radius: int = 0) -> Optional[float]:
    """The median finite value in the (2 radius + 1)^2 window at pixel (round(x), round(y)); None if off the map or none is finite."""
    h, w = values.shape
    xi, yi = int(round(x)), int(round(y))
    if not (0 <= xi < w and 0 <= yi < h):
        return None
    win = values[max(0, yi - radius):yi + radius + 1, max(0, xi - radius):xi + radius + 1]
    win = win[np.isfinite(win)]
    return float(np.median(win)) if win.size else None


def load_sparse_points(path: str | os.PathLike) -> dict[Optional[int], list[MetricPoint]]:
    """Sparse metric points from a text file: lines ``x y depth`` (every frame) or ``frame x y depth``.

    Pixels are in the input frame's coordinates, depth in metres; commas or spaces separate values
    and ``#`` starts a comment. Returns points by frame index (None: every frame).
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--sparse-points: file not found: {path}")
    out: dict[Optional[int], list[MetricPoint]] = {}
    for lineno, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        tokens = raw.split("#", 1)[0].replace(",", " ").split()
        if not tokens:
            continue
        where = f"{path}:{lineno}"
        if len(tokens) not in (3, 4):
            raise DataError(f"{where}: expected 'x y depth' or 'frame x y depth', got {raw.strip()!r}")
        try:
            vals = [float(t) for t in tokens]
        except ValueError:
            raise DataError(f"{where}: expected numbers, got {raw.strip()!r}") from None
        frame = None
        if len(vals) == 4:
            if vals[0] != int(vals[0]) or vals[0] < 0:
                raise DataError(f"{where}: frame index must be a non-negative integer, got {tokens[0]!r}")
            frame = int(vals.pop(0))
        x, y, depth = vals
        if not (depth > 0 and math.isfinite(depth)):
            raise DataError(f"{where}: depth must be a positive number of metres, got {depth}")
        out.setdefault(frame, []).append(MetricPoint(x, y, depth))
    if not out:
        raise DataError(f"{path}: no points")
    return out


def gt_sparse_points(path: str | os.PathLike, n: int, depth_scale: Optional[float] = None,
                     max_frames: Optional[int] = None, seed: int = 0) -> tuple[dict[Optional[int], list[MetricPoint]], tuple[int, int]]:
    """``n`` valid ground-truth pixels per frame as metric points, from a depth map (the same points
    for every frame) or a folder of depth maps (sorted naturally, one per input frame), with
    ``depth_scale`` (value / scale = metres; default: the format's). Returns (points by frame, the
    maps' (height, width)), for a recorded RGB-D sequence standing in for an AR session's points."""
    from keras_depth.ar.video import natural_key
    from keras_depth.data.readers.decode import read_depth

    path = Path(path)
    if path.is_dir():
        files = sorted((f for f in path.iterdir() if f.is_file() and f.suffix.lower() in (".png", ".npy", ".pfm", ".dpt")),
                       key=lambda f: natural_key(f.name))
        if not files:
            raise UsageError(f"--gt-depth: {path} holds no depth maps (.png, .npy, .pfm, .dpt)")
    elif path.is_file():
        files = [path]
    else:
        raise UsageError(f"--gt-depth: {path} not found")
    if max_frames is not None:
        files = files[:max_frames]
    rng = np.random.default_rng(seed)
    out: dict[Optional[int], list[MetricPoint]] = {}
    shape = None
    for i, f in enumerate(files):
        depth, valid = read_depth(f, None, depth_scale)
        if shape is not None and depth.shape != shape:
            raise DataError(f"--gt-depth: {f} is {depth.shape[1]}x{depth.shape[0]}, the first map {shape[1]}x{shape[0]}")
        shape = depth.shape
        ys, xs = np.nonzero(valid & np.isfinite(depth) & (depth > 0))
        if len(xs) < n:
            raise DataError(f"--gt-depth: {f} has {len(xs)} valid pixels, fewer than --sparse-from-gt {n}")
        pick = rng.choice(len(xs), n, replace=False)
        out[None if path.is_file() else i] = [MetricPoint(float(xs[k]), float(ys[k]), float(depth[ys[k], xs[k]])) for k in pick]
    return out, shape


def points_for_frame(points: Optional[dict[Optional[int], list[MetricPoint]]], frame: int) -> list[MetricPoint]:
    if not points:
        return []
    return list(points.get(None, [])) + list(points.get(frame, []))
