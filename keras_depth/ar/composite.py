"""Per-pixel occlusion: a virtual object shows only where it is nearer than the real scene.

The rule is depth-core's Occlusion.composite (and export.fixtures.occlusion_reference): an object
pixel is visible iff ``object_depth < scene_depth`` strictly and the scene depth is finite and > 0,
so unknown scene depth hides the object rather than let it float in front. Visible pixels blend
source-over in integer arithmetic, ``(obj * a + bg * (255 - a) + 127) // 255``.
"""
from __future__ import annotations

import numpy as np

from keras_depth.ar.render import Rendered
from keras_depth.errors import UsageError


def visibility_mask(object_depth: np.ndarray, scene_depth: np.ndarray) -> np.ndarray:
    """bool [H, W]: where the object (z, +inf where absent) is strictly nearer than a valid scene."""
    z = np.asarray(object_depth, np.float32)
    s = np.asarray(scene_depth, np.float32)
    if z.shape != s.shape:
        raise UsageError(f"object depth {z.shape} and scene depth {s.shape} differ in shape (resize the scene first)")
    with np.errstate(invalid="ignore"):
        return np.isfinite(s) & (s > 0) & (z < s)


def blend(fg_rgba: np.ndarray, bg_rgb: np.ndarray) -> np.ndarray:
    """Source-over with straight alpha in integers (Occlusion.blend), uint8 RGB out."""
    a = fg_rgba[..., 3:4].astype(np.int32)
    out = (fg_rgba[..., :3].astype(np.int32) * a + bg_rgb.astype(np.int32) * (255 - a) + 127) // 255
    return out.astype(np.uint8)


def composite(background: np.ndarray, scene_depth: np.ndarray, obj: Rendered) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 RGB frame with the visible object pixels blended in, bool visibility mask)."""
    bg = np.asarray(background)
    if bg.dtype != np.uint8 or bg.ndim != 3 or bg.shape[2] != 3:
        raise UsageError(f"background: expected uint8 RGB [H, W, 3], got {bg.dtype} {bg.shape}")
    if bg.shape[:2] != obj.depth.shape:
        raise UsageError(f"background {bg.shape[:2]} and rendered object {obj.depth.shape} differ in size")
    visible = visibility_mask(obj.depth, scene_depth)
    out = bg.copy()
    out[visible] = blend(obj.rgba[visible], bg[visible])
    return out, visible
