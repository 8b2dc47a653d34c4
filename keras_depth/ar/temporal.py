"""Temporal stabilisation (EMA) and the flicker metric.

Smoothing follows depth-core's TemporalSmoother, ``s = alpha * x + (1 - alpha) * s_prev``, on the
per-frame alignment and on disparity (smoothing disparity rather than depth keeps far pixels from
dominating). Disparity is smoothed only in static regions: where the image changed, the state is
reset to the new value, so moving objects do not leave trails.

Flicker: the mean absolute frame-to-frame change of aligned disparity, pooled over all pixel-steps
where the image itself did not change (|delta grey| < threshold) and both disparities are valid.
On a static camera any such change is the model's, not the world's.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Optional

import numpy as np

from keras_depth.ar.placement import Alignment
from keras_depth.errors import UsageError

DEFAULT_ALPHA = 0.3
DEFAULT_STATIC_THRESHOLD = 3.0  # grey levels (0..255): most pixel-steps of a static-camera clip stay below (docs/training.md)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """float32 luma (ITU-R BT.601 weights) of uint8 RGB [H, W, 3]."""
    x = np.asarray(rgb, np.float32)
    return x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114


def static_mask(prev_gray: np.ndarray, gray: np.ndarray, threshold: float = DEFAULT_STATIC_THRESHOLD,
                dilate: int = 0) -> np.ndarray:
    """bool: |gray - prev_gray| < threshold; ``dilate`` > 0 grows the changed region by that many pixels."""
    moving = np.abs(np.asarray(gray, np.float32) - np.asarray(prev_gray, np.float32)) >= threshold
    if dilate > 0 and moving.any():
        import cv2

        moving = cv2.dilate(moving.astype(np.uint8), np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8)) > 0
    return ~moving


class TemporalSmoother:
    """EMA of the alignment, and of disparity where the image is static (TemporalSmoother in Smoothing.kt)."""

    def __init__(self, alpha: float = DEFAULT_ALPHA, threshold: float = DEFAULT_STATIC_THRESHOLD, dilate: int = 1):
        if not 0 < alpha <= 1:
            raise UsageError(f"smoothing alpha must be in (0, 1], got {alpha}")
        self.alpha, self.threshold, self.dilate = float(alpha), float(threshold), int(dilate)
        self.reset()

    def reset(self) -> None:
        self._alignment: Optional[Alignment] = None
        self._disparity: Optional[np.ndarray] = None
        self._gray: Optional[np.ndarray] = None

    def smooth_alignment(self, a: Alignment) -> Alignment:
        p = self._alignment
        nxt = a if p is None else Alignment(self.alpha * a.scale + (1 - self.alpha) * p.scale,
                                            self.alpha * a.shift + (1 - self.alpha) * p.shift)
        self._alignment = nxt
        return nxt

    def smooth_disparity(self, disparity: np.ndarray, gray: np.ndarray) -> np.ndarray:
        """The EMA where the image is static since the last frame, the new value elsewhere.

        NaN pixels leave the state unchanged, and a NaN state takes the new value (as Smoothing.kt).
        The first frame, or a change of map size, starts over.
        """
        d = np.asarray(disparity, np.float32)
        g = np.asarray(gray, np.float32)
        prev, prev_gray = self._disparity, self._gray
        if prev is None or prev.shape != d.shape or prev_gray is None or prev_gray.shape != g.shape:
            nxt = d.copy()
        else:
            static = static_mask(prev_gray, g, self.threshold, self.dilate)
            ema = self.alpha * d + (1 - self.alpha) * prev
            nxt = np.where(static, ema, d)
            nxt = np.where(np.isnan(d), prev, nxt)
            nxt = np.where(np.isnan(prev), d, nxt).astype(np.float32)
        self._disparity, self._gray = nxt, g
        return nxt.copy()


@dataclasses.dataclass
class FlickerMeter:
    """Accumulates the flicker metric one frame at a time (see the module docstring)."""

    threshold: float = DEFAULT_STATIC_THRESHOLD
    total_abs: float = 0.0
    total_disp: float = 0.0
    count: int = 0
    steps: int = 0
    static_pixels: int = 0
    all_pixels: int = 0
    _prev: Optional[tuple[np.ndarray, np.ndarray]] = None

    def update(self, disparity: np.ndarray, gray: np.ndarray) -> None:
        d = np.asarray(disparity, np.float64)
        g = np.asarray(gray, np.float32)
        if self._prev is not None:
            pd, pg = self._prev
            if pd.shape != d.shape or pg.shape != g.shape:
                raise UsageError(f"flicker: frame size changed from {pd.shape} to {d.shape}")
            static = static_mask(pg, g, self.threshold)
            m = static & np.isfinite(d) & np.isfinite(pd)
            self.total_abs += float(np.abs(d[m] - pd[m]).sum())
            self.total_disp += float((0.5 * (d[m] + pd[m])).sum())
            self.count += int(m.sum())
            self.static_pixels += int(static.sum())
            self.all_pixels += static.size
            self.steps += 1
        self._prev = (d, g)

    def result(self) -> dict:
        """``flicker`` (disparity units, 1/m when aligned to metric), ``flicker_rel`` (divided by the
        mean disparity over the same pixels), the pixel-steps used and the static fraction."""
        return {
            "flicker": self.total_abs / self.count if self.count else float("nan"),
            "flicker_rel": self.total_abs / self.total_disp if self.total_disp > 0 else float("nan"),
            "pixel_steps": self.count,
            "frame_steps": self.steps,
            "static_fraction": self.static_pixels / self.all_pixels if self.all_pixels else float("nan"),
            "threshold": self.threshold,
        }


def flicker(disparities: Iterable[np.ndarray], grays: Iterable[np.ndarray], threshold: float = DEFAULT_STATIC_THRESHOLD) -> float:
    """Mean |d_t - d_{t-1}| over pixel-steps with |gray_t - gray_{t-1}| < threshold (both d finite)."""
    meter = FlickerMeter(threshold)
    for d, g in zip(disparities, grays):
        meter.update(d, g)
    return meter.result()["flicker"]
