"""Image geometry shared by every layer, one definition each: pixel centres, the pinhole camera
(``Intrinsics``), the input resize, and the least-squares scale-and-shift alignment.

Pixel convention: pixel ``(row i, column j)`` covers ``[j, j+1) x [i, i+1)`` in image coordinates,
so its centre is ``(j + 0.5, i + 0.5)``; a principal point ``cx = W / 2`` is the image centre.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from keras_depth.errors import UsageError

DEFAULT_HFOV_DEG = 65.0  # depth-core FrameComposer's default: a typical phone's main camera


def pixel_centers(height: int, width: int, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """``(u, v)`` grids ``[H, W]`` of pixel-centre coordinates: ``u = j + 0.5``, ``v = i + 0.5``."""
    u, v = np.meshgrid(np.arange(width, dtype=dtype) + 0.5, np.arange(height, dtype=dtype) + 0.5)
    return u, v


def resize_rgb(rgb: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """The model-input resize used by training-time evaluation and the manifest runtime alike:
    area averaging when shrinking (no aliasing), bilinear when enlarging."""
    import cv2

    hw = (int(hw[0]), int(hw[1]))
    if rgb.shape[:2] == hw:
        return rgb
    interp = cv2.INTER_AREA if rgb.shape[0] > hw[0] else cv2.INTER_LINEAR
    return cv2.resize(rgb, (hw[1], hw[0]), interpolation=interp)


def lstsq_scale_shift(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``(s, t)`` minimising ``sum (s*x + t - y)^2`` (MiDaS's alignment, Ranftl et al. 2020, eq. 4);
    the minimum-norm solution when ``x`` is constant."""
    x = np.asarray(x, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    a = np.stack([x, np.ones_like(x)], axis=1)
    (s, t), *_ = np.linalg.lstsq(a, y, rcond=None)
    return float(s), float(t)


def center_crop_box(hw: tuple[int, int], aspect_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the largest centred crop of an ``hw`` image whose aspect is
    ``aspect_hw``'s (``h / w``), in whole pixels: how a frame is brought to a model's input shape
    without distortion (teacher inputs, student crops, evaluation on real frames)."""
    H, W = int(hw[0]), int(hw[1])
    ah, aw = int(aspect_hw[0]), int(aspect_hw[1])
    if min(H, W, ah, aw) <= 0:
        raise ValueError(f"center_crop_box: expected positive sizes, got hw={hw}, aspect_hw={aspect_hw}")
    if H * aw > W * ah:  # taller than the target aspect: crop rows
        h, w = max(1, round(W * ah / aw)), W
    else:
        h, w = H, max(1, round(H * aw / ah))
    return (H - h) // 2, (W - w) // 2, h, w


def center_crop(image: np.ndarray, aspect_hw: tuple[int, int]) -> np.ndarray:
    """``image[..., rows, cols]`` (HW or HWC) cropped by :func:`center_crop_box`."""
    top, left, h, w = center_crop_box(image.shape[:2], aspect_hw)
    return image[top:top + h, left:left + w]


@dataclasses.dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels (pixel ``i``'s centre at ``i + 0.5``)."""

    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        if not (self.fx > 0 and self.fy > 0) or not all(map(math.isfinite, (self.fx, self.fy, self.cx, self.cy))):
            raise UsageError(f"intrinsics: expected finite fx, fy > 0, got {self}")

    @classmethod
    def from_hfov(cls, width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG) -> "Intrinsics":
        """Square pixels, principal point at the image centre (Intrinsics.fromHorizontalFov in Cube.kt)."""
        if width <= 0 or height <= 0:
            raise UsageError(f"image size must be positive, got {width}x{height}")
        if not 0 < hfov_deg < 180:
            raise UsageError(f"horizontal FOV must be in (0, 180) degrees, got {hfov_deg}")
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(f, f, width / 2.0, height / 2.0)

    @classmethod
    def from_centered_pixels(cls, fx: float, fy: float, cx: float, cy: float) -> "Intrinsics":
        """From intrinsics that put pixel centres at integer coordinates (OpenCV calibrations)."""
        return cls(fx, fy, cx + 0.5, cy + 0.5)

    def scaled(self, sx: float, sy: float) -> "Intrinsics":
        """The same camera for an image resized by (sx, sy)."""
        return Intrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy)

    def project(self, points: np.ndarray) -> np.ndarray:
        """[N, 3] camera points -> [N, 2] continuous pixel coordinates ``(fx X/Z + cx, fy Y/Z + cy)``."""
        p = np.asarray(points, np.float64).reshape(-1, 3)
        return np.stack([self.fx * p[:, 0] / p[:, 2] + self.cx, self.fy * p[:, 1] / p[:, 2] + self.cy], axis=1)

    def backproject(self, x, y, z) -> np.ndarray:
        """The camera point at z-depth ``z`` seen at the centre of pixel (x, y) (integer indices); with
        arrays of N pixels, the points as [3, N]."""
        return np.array([(x + 0.5 - self.cx) / self.fx * z, (y + 0.5 - self.cy) / self.fy * z, z], np.float64)
