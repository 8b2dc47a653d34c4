"""The arrays of a rendered frame: one schema for the renderer, the on-disk cache and the datasets.

A rendered view is a :class:`Frame`:

=============== ======= ============== =====================================================
field           dtype   shape          meaning
=============== ======= ============== =====================================================
``image``       uint8   [H, W, 3]      RGB with a display gamma
``depth``       float32 [H, W]         z-depth in metres (0 where a ray hits nothing)
``intrinsics``  float32 [4]            fx, fy, cx, cy in pixels, pixel centres at ``j + 0.5``
``pose``        float64 [4, 4]         camera-to-world (OpenCV camera axes, world y up)
=============== ======= ============== =====================================================

A :class:`StereoFrame` is the left view plus its rectified right partner ``baseline`` metres along
the left camera's +x axis, with the same intrinsics: ``image_right``, ``depth_right`` and the
disparities in pixels ``disparity`` (left view) and ``disparity_right``, both ``fx * baseline / depth``.
A left pixel ``x`` sees the same point as right pixel ``x - disparity``; a right pixel ``x`` as left
pixel ``x + disparity_right``.

A stack of frames (a trajectory, a chunk of the cache, the cache itself) holds the same fields with
a leading frame axis. The cache stores each field of ``FIELDS[kind]`` as ``NAME.npy``.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

# Bump whenever a change would alter a cached array (a rendered pixel, the intrinsics convention,
# a field of the schema): on-disk caches key on it, so a stale cache is never read.
GENERATOR_VERSION = "raycast-4"
KINDS = ("mono", "stereo", "sequence")


@dataclasses.dataclass(frozen=True)
class Field:
    dtype: type
    shape: Callable[[int, int], tuple[int, ...]]  # per frame, from (height, width)


_VIEW = {
    "image": Field(np.uint8, lambda h, w: (h, w, 3)),
    "depth": Field(np.float32, lambda h, w: (h, w)),
    "intrinsics": Field(np.float32, lambda h, w: (4,)),
    "pose": Field(np.float64, lambda h, w: (4, 4)),
}
_RIGHT_VIEW = {
    "image_right": Field(np.uint8, lambda h, w: (h, w, 3)),
    "depth_right": Field(np.float32, lambda h, w: (h, w)),
    "disparity": Field(np.float32, lambda h, w: (h, w)),
    "disparity_right": Field(np.float32, lambda h, w: (h, w)),
}
# The arrays of each kind of frame, by field name. A sequence is mono frames in trajectory order.
FIELDS: dict[str, dict[str, Field]] = {"mono": _VIEW, "sequence": _VIEW, "stereo": {**_VIEW, **_RIGHT_VIEW}}


@dataclasses.dataclass(frozen=True, eq=False)
class Frame:
    """One rendered view, or a stack of views with a leading frame axis (see the module docstring)."""

    image: np.ndarray
    depth: np.ndarray
    intrinsics: np.ndarray
    pose: np.ndarray

    kind = "mono"

    def arrays(self) -> dict[str, np.ndarray]:
        """The fields of ``FIELDS[kind]``, by name."""
        return {name: getattr(self, name) for name in FIELDS[self.kind]}


@dataclasses.dataclass(frozen=True, eq=False)
class StereoFrame(Frame):
    """A rectified pair: the left view's fields plus the right view and both disparities."""

    image_right: np.ndarray
    depth_right: np.ndarray
    disparity: np.ndarray
    disparity_right: np.ndarray
    baseline: float

    kind = "stereo"


def empty_arrays(kind: str, count: int, height: int, width: int) -> dict[str, np.ndarray]:
    """Uninitialised arrays for ``count`` frames of ``kind``, by field name."""
    return {name: np.empty((count, *f.shape(height, width)), f.dtype) for name, f in FIELDS[kind].items()}


def disparity(depth: np.ndarray, fx: float, baseline: float) -> np.ndarray:
    """``fx * baseline / depth`` in pixels, 0 where depth is 0."""
    with np.errstate(divide="ignore"):
        return np.where(depth > 0, np.float32(fx * baseline) / depth, 0).astype(np.float32)
