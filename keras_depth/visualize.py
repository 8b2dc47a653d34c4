"""Colour-mapped depth for figures, TensorBoard and the demos (numpy only)."""
from __future__ import annotations

from typing import Optional

import numpy as np


def colorize(depth: np.ndarray, vmin: Optional[float] = None, vmax: Optional[float] = None,
             mask: Optional[np.ndarray] = None, inverse: bool = True, cmap: str = "turbo") -> np.ndarray:
    """[H, W] depth -> uint8 RGB [H, W, 3]. ``inverse`` colours disparity (near = warm), which spreads
    the colours where a phone's depth matters; invalid pixels (mask == 0 or non-finite) are black."""
    import matplotlib

    d = np.asarray(depth, np.float64).squeeze()
    valid = np.isfinite(d) & (d > 0)
    if mask is not None:
        valid &= np.asarray(mask).squeeze() > 0.5
    if not valid.any():
        return np.zeros(d.shape + (3,), np.uint8)
    lo = float(np.min(d[valid])) if vmin is None else vmin
    hi = float(np.max(d[valid])) if vmax is None else vmax
    lo, hi = max(lo, 1e-6), max(hi, lo * (1 + 1e-6))
    x = np.clip(np.where(valid, d, lo), lo, hi)
    t = (1 / x - 1 / hi) / (1 / lo - 1 / hi) if inverse else (x - lo) / (hi - lo)
    rgb = matplotlib.colormaps[cmap](t)[..., :3]
    rgb[~valid] = 0
    return (rgb * 255 + 0.5).astype(np.uint8)
