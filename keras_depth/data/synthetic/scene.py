"""What a synthetic scene is made of: materials, primitives, a light, a pinhole camera, and the
primitives' closed-form geometry (distance to a point, bounding box).

Conventions: the world frame is y-up, in metres. Cameras use the OpenCV axes (x right, y down,
z forward) and poses are 4x4 camera-to-world matrices. Intrinsics follow ``keras_depth.geometry``:
pixel ``j`` covers ``[j, j + 1)``, so its centre is ``j + 0.5`` and ``cx = W / 2`` is the image centre.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence, Union

import numpy as np

from keras_depth.errors import UsageError

TEXTURES = ("checker", "noise", "stripes", "gradient")

Vec3 = tuple[float, float, float]
ArrayLike = Union[np.ndarray, Sequence[float]]


@dataclasses.dataclass(frozen=True)
class Material:
    """A procedural albedo: ``texture`` blends ``color_a`` into ``color_b`` with a period of ``scale`` m."""

    texture: str = "checker"
    color_a: Vec3 = (0.8, 0.8, 0.8)
    color_b: Vec3 = (0.2, 0.2, 0.2)
    scale: float = 0.5
    axis: Vec3 = (1.0, 0.0, 0.0)  # direction of stripes and gradients
    offset: Vec3 = (0.0, 0.0, 0.0)  # shifts the pattern so lattice lines never sit on a face

    def __post_init__(self) -> None:
        if self.texture not in TEXTURES:
            raise UsageError(f"material texture: expected one of {TEXTURES}, got {self.texture!r}")
        if not self.scale > 0:
            raise UsageError(f"material scale: expected > 0, got {self.scale!r}")


@dataclasses.dataclass(frozen=True)
class Plane:
    """The one-sided plane ``x[axis] == position``, visible from the side its normal points to.

    ``facing`` is the sign of the normal along ``axis``; rays moving along the normal pass through,
    which is what lets six planes form a room seen from inside.
    """

    axis: int
    position: float
    facing: int
    material: Material = Material()


@dataclasses.dataclass(frozen=True)
class Box:
    """A box with full extents ``size``, centred at ``center``, turned by ``yaw`` radians about +y."""

    center: Vec3
    size: Vec3
    yaw: float = 0.0
    material: Material = Material()


@dataclasses.dataclass(frozen=True)
class Sphere:
    center: Vec3
    radius: float
    material: Material = Material()


@dataclasses.dataclass(frozen=True)
class Cylinder:
    """A vertical capped cylinder standing on ``base`` = (x, y_bottom, z)."""

    base: Vec3
    radius: float
    height: float
    material: Material = Material()


Primitive = Union[Plane, Box, Sphere, Cylinder]


@dataclasses.dataclass(frozen=True)
class Light:
    """A point light with a soft ``1 / (1 + (r / falloff)^2)`` falloff, hemispheric ambient and hard shadows."""

    position: Vec3
    intensity: float = 1.0
    ambient: float = 0.3
    falloff: float = 4.0
    shadows: bool = True


@dataclasses.dataclass(frozen=True)
class Scene:
    primitives: tuple
    light: Light


@dataclasses.dataclass(frozen=True, eq=False)
class Camera:
    """A pinhole camera: intrinsics in pixels (pixel centres at ``j + 0.5``) and a pose."""

    height: int
    width: int
    fx: float
    fy: float
    cx: float
    cy: float
    pose: np.ndarray  # [4, 4] camera-to-world

    def __post_init__(self) -> None:
        for name in ("height", "width"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise UsageError(f"camera {name}: expected a positive integer, got {v!r}")
        if not (self.fx > 0 and self.fy > 0):
            raise UsageError(f"camera focal length: expected fx, fy > 0, got {self.fx!r}, {self.fy!r}")
        pose = np.asarray(self.pose, np.float64)
        if pose.shape != (4, 4):
            raise UsageError(f"camera pose: expected a 4x4 matrix, got shape {pose.shape}")
        object.__setattr__(self, "pose", pose)

    @property
    def intrinsics(self) -> np.ndarray:
        return np.array([self.fx, self.fy, self.cx, self.cy], np.float32)

    def translated(self, offset_camera: ArrayLike) -> "Camera":
        """The same camera moved by ``offset_camera`` metres expressed in its own frame."""
        pose = self.pose.copy()
        pose[:3, 3] += pose[:3, :3] @ np.asarray(offset_camera, np.float64)
        return dataclasses.replace(self, pose=pose)


def room_planes(
    lo: Vec3, hi: Vec3, floor: Material, ceiling: Material, walls: Union[Material, Sequence[Material]]
) -> tuple[Plane, ...]:
    """The six inward-facing planes of the axis-aligned room ``lo``..``hi`` (y is up)."""
    walls = (walls,) * 4 if isinstance(walls, Material) else tuple(walls)
    if len(walls) != 4:
        raise UsageError(f"room walls: expected 1 or 4 materials, got {len(walls)}")
    return (
        Plane(0, float(lo[0]), +1, walls[0]),
        Plane(0, float(hi[0]), -1, walls[1]),
        Plane(1, float(lo[1]), +1, floor),
        Plane(1, float(hi[1]), -1, ceiling),
        Plane(2, float(lo[2]), +1, walls[2]),
        Plane(2, float(hi[2]), -1, walls[3]),
    )


def look_pose(position: ArrayLike, yaw: float, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """Camera-to-world pose at ``position``: yaw 0 looks along world -z.

    ``pitch`` turns about the camera's x axis, which points right with y pointing down (OpenCV), so a
    positive pitch tilts the optical axis towards image-down: the camera looks down by ``pitch``.
    """
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    r_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])  # about world +y
    # Columns are the camera x, y, z axes in the world at zero angles: right=+x, down=-y, forward=-z.
    base = np.array([[1.0, 0, 0], [0, -1, 0], [0, 0, -1]])
    r_pitch = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])  # about camera x; +pitch tilts z down
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])  # about camera z
    pose = np.eye(4)
    pose[:3, :3] = r_yaw @ base @ r_pitch @ r_roll
    pose[:3, 3] = np.asarray(position, np.float64)
    return pose


def intrinsics_for_fov(height: int, width: int, hfov_deg: float) -> tuple[float, float, float, float]:
    """Square-pixel intrinsics with the principal point at the image centre ``(W / 2, H / 2)``."""
    fx = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return fx, fx, width / 2.0, height / 2.0


def _not_a_primitive(prim: object) -> UsageError:
    return UsageError(f"scene primitive: expected Plane, Box, Sphere or Cylinder, got {type(prim).__name__}")


def signed_distance(prim: Primitive, x: ArrayLike) -> float:
    """Distance from point ``x`` to the primitive (negative inside, or behind a plane)."""
    x = np.asarray(x, np.float64)
    if isinstance(prim, Plane):
        return float((x[prim.axis] - prim.position) * prim.facing)
    if isinstance(prim, Sphere):
        return float(np.linalg.norm(x - prim.center) - prim.radius)
    if isinstance(prim, Box):
        oc = x - np.asarray(prim.center)
        c, s = math.cos(prim.yaw), math.sin(prim.yaw)
        q = np.abs([oc[0] * c - oc[2] * s, oc[1], oc[0] * s + oc[2] * c]) - np.asarray(prim.size) / 2
    elif isinstance(prim, Cylinder):
        radial = math.hypot(x[0] - prim.base[0], x[2] - prim.base[2])
        q = np.array([radial - prim.radius, abs(x[1] - prim.base[1] - prim.height / 2) - prim.height / 2])
    else:
        raise _not_a_primitive(prim)
    return float(np.linalg.norm(np.maximum(q, 0)) + min(q.max(), 0.0))


def bounds(prim: Primitive) -> tuple[np.ndarray, np.ndarray]:
    """World axis-aligned bounding box (lo, hi) of a finite primitive."""
    if isinstance(prim, Sphere):
        c = np.asarray(prim.center, np.float64)
        return c - prim.radius, c + prim.radius
    if isinstance(prim, Box):
        c, s = abs(math.cos(prim.yaw)), abs(math.sin(prim.yaw))
        hx, hy, hz = (v / 2 for v in prim.size)
        half = np.array([c * hx + s * hz, hy, s * hx + c * hz])
        return np.asarray(prim.center) - half, np.asarray(prim.center) + half
    if isinstance(prim, Cylinder):
        b = np.asarray(prim.base, np.float64)
        return b - (prim.radius, 0, prim.radius), b + (prim.radius, prim.height, prim.radius)
    raise _not_a_primitive(prim)


def bounding_sphere(prim: Primitive) -> tuple[np.ndarray, float]:
    lo, hi = bounds(prim)
    return (lo + hi) / 2, float(np.linalg.norm(hi - lo) / 2)


def room_corners(scene: Scene) -> np.ndarray:
    """The eight corners [8, 3] of the room the scene's planes enclose."""
    lo = [min(p.position for p in scene.primitives if isinstance(p, Plane) and p.axis == k) for k in range(3)]
    hi = [max(p.position for p in scene.primitives if isinstance(p, Plane) and p.axis == k) for k in range(3)]
    return np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])
