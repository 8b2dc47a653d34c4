"""Procedural indoor RGB-D scenes, ray-cast in numpy: exact dense depth without any download.

Conventions: the world frame is y-up, in metres. Cameras use the OpenCV frame (x right, y down,
z forward) and poses are 4x4 camera-to-world matrices. Rays are cast with a camera-frame direction
whose z component is 1, so the ray parameter ``t`` of a hit *is* its z-depth along the optical axis
(not the ray length) and no per-pixel conversion is needed.

Every image's rays are cast at once against one primitive at a time (analytic plane, slab box,
sphere and vertical capped cylinder tests) and the nearest hit wins; a random scene is a closed
room, so every pixel hits something and depth is dense.

Frame ``i`` of a split is drawn from ``np.random.default_rng((salt, seed, split, i))``, so it never
depends on how many frames were rendered before it, and train/val/test never share a scene.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence, Union

import numpy as np

from keras_depth.errors import UsageError

# Bump whenever a change would alter a rendered pixel: on-disk caches key on it.
GENERATOR_VERSION = "raycast-2"
SPLITS = ("train", "val", "test")
TEXTURES = ("checker", "noise", "stripes", "gradient")
# Depth range every random frame is guaranteed to fall in (the default model spec is 0.25-10 m);
# poses that would break it are re-drawn rather than clipped.
MIN_DEPTH = 0.3
MAX_DEPTH = 10.0
FOV_RANGE_DEG = (50.0, 75.0)  # horizontal field of view of random cameras
CAMERA_HEIGHT_RANGE_M = (0.8, 1.8)  # height of random cameras above the floor
FOV_LIMITS_DEG = (20.0, 90.0)  # what the clearance argument in random_camera holds for
DEFAULT_BASELINE = 0.12  # metres, a little wider than a phone's dual camera

_EPS = 1e-4  # self-intersection guard, metres along a z=1 ray
_SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
_KIND_CODES = {"mono": 0, "stereo": 1, "sequence": 2}
_SALT = 0x5D3E7  # keeps these streams apart from any other default_rng(seed) in a run
_CLEARANCE = 0.6  # metres between a random camera and any surface; see _MIN_COS below


Vec3 = tuple[float, float, float]
ArrayLike = Union[np.ndarray, Sequence[float]]


# --------------------------------------------------------------------------------------------
# Scene description


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
    """A pinhole camera: intrinsics in pixels (pixel centres at integer coordinates) and a pose."""

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
    """Square-pixel intrinsics with the principal point at the image centre."""
    fx = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return fx, fx, (width - 1) / 2.0, (height - 1) / 2.0


# --------------------------------------------------------------------------------------------
# Ray casting. ``o`` is [3] (one camera centre) or [N, 3] (shadow rays); ``d`` is [N, 3].


def _intersect(prim: Primitive, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Nearest hit parameter ``t > _EPS`` per ray, +inf where the ray misses."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if isinstance(prim, Plane):
            dk = d[:, prim.axis]
            t = (np.float32(prim.position) - o[..., prim.axis]) / dk
            ok = (dk * prim.facing < 0) & (t > _EPS)
            return np.where(ok, t, np.inf).astype(np.float32, copy=False)
        if isinstance(prim, Sphere):
            oc = (o - np.asarray(prim.center, np.float32)).astype(np.float32)
            a = np.einsum("ij,ij->i", d, d)
            if oc.ndim == 1:
                b, c = _dot3(d, oc), oc @ oc
            else:
                b, c = np.einsum("ij,ij->i", d, oc), np.einsum("ij,ij->i", oc, oc)
            c = c - np.float32(prim.radius**2)
            disc = b * b - a * c
            t = (-b - np.sqrt(np.maximum(disc, 0))) / a
            return np.where((disc >= 0) & (t > _EPS), t, np.inf).astype(np.float32, copy=False)
        if isinstance(prim, Box):
            cyw, syw = np.float32(math.cos(prim.yaw)), np.float32(math.sin(prim.yaw))
            oc = (o - np.asarray(prim.center, np.float32)).astype(np.float32)
            half = np.asarray(prim.size, np.float32) / 2
            # Into the box frame: the inverse of a yaw about +y.
            ol = (oc[..., 0] * cyw - oc[..., 2] * syw, oc[..., 1], oc[..., 0] * syw + oc[..., 2] * cyw)
            dl = (d[:, 0] * cyw - d[:, 2] * syw, d[:, 1], d[:, 0] * syw + d[:, 2] * cyw)
            tnear = tfar = None
            for k in range(3):
                # A zero direction component divides to +-inf with the right sign unless the origin
                # lies exactly on the slab plane, a measure-zero case that reads as a miss.
                t1 = (-half[k] - ol[k]) / dl[k]
                t2 = (half[k] - ol[k]) / dl[k]
                lo, hi = np.minimum(t1, t2), np.maximum(t1, t2)
                tnear = lo if tnear is None else np.maximum(tnear, lo)
                tfar = hi if tfar is None else np.minimum(tfar, hi)
            ok = (tnear <= tfar) & (tnear > _EPS)
            return np.where(ok, tnear, np.inf).astype(np.float32, copy=False)
        if isinstance(prim, Cylinder):
            bx, by, bz = (np.float32(v) for v in prim.base)
            top = by + np.float32(prim.height)
            r2 = np.float32(prim.radius**2)
            ox, oy, oz = o[..., 0] - bx, o[..., 1], o[..., 2] - bz
            dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
            a = dx * dx + dz * dz
            b = dx * ox + dz * oz
            c = ox * ox + oz * oz - r2
            disc = b * b - a * c
            ts = (-b - np.sqrt(np.maximum(disc, 0))) / a
            ys = oy + ts * dy
            t_side = np.where((disc >= 0) & (ts > _EPS) & (ys >= by) & (ys <= top), ts, np.inf)
            # Seen from outside only the cap on the viewer's side can be the first hit.
            t_cap = np.full_like(dx, np.inf)
            for y_cap, above in ((top, oy > top), (by, oy < by)):
                tc = (y_cap - oy) / dy
                rx, rz = ox + tc * dx, oz + tc * dz
                ok = above & (tc > _EPS) & (rx * rx + rz * rz <= r2)
                t_cap = np.where(ok, tc, t_cap)
            return np.minimum(t_side, t_cap).astype(np.float32, copy=False)
    raise UsageError(f"scene primitive: expected Plane, Box, Sphere or Cylinder, got {type(prim).__name__}")


def _surface(prim: Primitive, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normal (towards the viewer's side) and texture coordinates at hit points ``p`` [M, 3].

    Flat faces drop the coordinate along their normal, so a checker lattice line can never lie in a
    face and flicker; curved surfaces use solid (3-D) texture coordinates.
    """
    n = np.zeros_like(p)
    if isinstance(prim, Plane):
        n[:, prim.axis] = prim.facing
        q = p.copy()
        q[:, prim.axis] = 0
        return n, q
    if isinstance(prim, Sphere):
        q = p - np.asarray(prim.center, np.float32)
        return q / np.float32(prim.radius), q
    if isinstance(prim, Box):
        cyw, syw = np.float32(math.cos(prim.yaw)), np.float32(math.sin(prim.yaw))
        oc = p - np.asarray(prim.center, np.float32)
        ql = np.stack([oc[:, 0] * cyw - oc[:, 2] * syw, oc[:, 1], oc[:, 0] * syw + oc[:, 2] * cyw], 1)
        half = np.asarray(prim.size, np.float32) / 2
        face = np.argmax(np.abs(ql) / half, axis=1)
        rows = np.arange(len(p))
        nl = np.zeros_like(p)
        nl[rows, face] = np.sign(ql[rows, face])
        ql[rows, face] = 0
        n = np.stack([nl[:, 0] * cyw + nl[:, 2] * syw, nl[:, 1], -nl[:, 0] * syw + nl[:, 2] * cyw], 1)
        return n, ql
    if isinstance(prim, Cylinder):
        q = p - np.asarray(prim.base, np.float32)
        radial = np.sqrt(q[:, 0] ** 2 + q[:, 2] ** 2)
        tol = 1e-4 * max(prim.height, 1.0)
        top = np.abs(q[:, 1] - prim.height) < tol
        bottom = np.abs(q[:, 1]) < tol
        cap = (top | bottom) & (radial < prim.radius * (1 - 1e-3))
        inv = 1.0 / np.maximum(radial, 1e-12)
        n[:, 0] = np.where(cap, 0, q[:, 0] * inv)
        n[:, 2] = np.where(cap, 0, q[:, 2] * inv)
        n[:, 1] = np.where(cap, np.where(top, 1, -1), 0)
        q[:, 1] = np.where(cap, 0, q[:, 1])
        return n.astype(np.float32, copy=False), q
    raise UsageError(f"scene primitive: expected Plane, Box, Sphere or Cylinder, got {type(prim).__name__}")


def _signed_distance(prim: Primitive, x: np.ndarray) -> float:
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
        raise UsageError(f"scene primitive: expected Plane, Box, Sphere or Cylinder, got {type(prim).__name__}")
    return float(np.linalg.norm(np.maximum(q, 0)) + min(q.max(), 0.0))


def _bounds(prim: Primitive) -> tuple[np.ndarray, np.ndarray]:
    """World axis-aligned bounding box (lo, hi) of a finite primitive."""
    if isinstance(prim, Sphere):
        c = np.asarray(prim.center, np.float64)
        return c - prim.radius, c + prim.radius
    if isinstance(prim, Box):
        c, s = abs(math.cos(prim.yaw)), abs(math.sin(prim.yaw))
        hx, hy, hz = (v / 2 for v in prim.size)
        half = np.array([c * hx + s * hz, hy, s * hx + c * hz])
        return np.asarray(prim.center) - half, np.asarray(prim.center) + half
    b = np.asarray(prim.base, np.float64)
    return b - (prim.radius, 0, prim.radius), b + (prim.radius, prim.height, prim.radius)


def _bounding_sphere(prim: Primitive) -> tuple[np.ndarray, float]:
    lo, hi = _bounds(prim)
    return (lo + hi) / 2, float(np.linalg.norm(hi - lo) / 2)


def _screen_rect(prim: Primitive, camera: Camera) -> Optional[tuple[int, int, int, int]]:
    """Pixel rows/cols (v0, v1, u0, u1) that can see a finite primitive; None when it is off screen.

    Projecting the bounding box's corners is conservative; if any corner is behind the camera the
    projection is unbounded and the whole image is returned.
    """
    lo, hi = _bounds(prim)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    cam = (corners - camera.pose[:3, 3]) @ camera.pose[:3, :3]
    if (cam[:, 2] <= 1e-6).any():
        return 0, camera.height, 0, camera.width
    u = camera.fx * cam[:, 0] / cam[:, 2] + camera.cx
    v = camera.fy * cam[:, 1] / cam[:, 2] + camera.cy
    u0, u1 = max(int(math.floor(u.min())) - 1, 0), min(int(math.ceil(u.max())) + 2, camera.width)
    v0, v1 = max(int(math.floor(v.min())) - 1, 0), min(int(math.ceil(v.max())) + 2, camera.height)
    if u0 >= u1 or v0 >= v1:
        return None
    return v0, v1, u0, u1


def _trace(scene: Scene, camera: Camera, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest ``t`` over all primitives and the index of the primitive hit (-1 for none).

    Finite primitives are only tested against the pixels of their projected bounding box: most
    objects cover a small part of the image, and this is where the time goes.
    """
    hw = (camera.height, camera.width)
    best_t = np.full(hw, np.inf, np.float32)
    best_id = np.full(hw, -1, np.int32)
    d_img = d.reshape(*hw, 3)
    for k, prim in enumerate(scene.primitives):
        if isinstance(prim, Plane):
            rect = (0, hw[0], 0, hw[1])
        else:
            rect = _screen_rect(prim, camera)
            if rect is None:
                continue
        v0, v1, u0, u1 = rect
        t = _intersect(prim, o, d_img[v0:v1, u0:u1].reshape(-1, 3)).reshape(v1 - v0, u1 - u0)
        bt, bi = best_t[v0:v1, u0:u1], best_id[v0:v1, u0:u1]
        closer = t < bt
        bt[closer] = t[closer]
        bi[closer] = k
    return best_t.reshape(-1), best_id.reshape(-1)


def _occluded(primitives: Sequence[Primitive], light: np.ndarray, p: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Whether anything lies on the segment ``p`` .. ``p + d`` (t in (eps, 1)), where ``p + d`` is ``light``."""
    blocked = np.zeros(len(d), bool)
    from_light = -d  # light -> point
    dist2 = np.einsum("ij,ij->i", from_light, from_light)
    for prim in primitives:
        # Inside a convex room the walls never block a wall-to-light segment, so skip them.
        if isinstance(prim, Plane):
            continue
        # Only points inside the cone the occluder's bounding sphere casts from the light can be
        # shadowed by it; the exact test runs on those alone.
        c, r = _bounding_sphere(prim)
        lc = (c - light).astype(np.float32)
        lc2 = float(lc @ lc)
        if lc2 <= r * r:
            idx = np.arange(len(d))
        else:
            cos2 = np.float32(1.0 - r * r / lc2)
            dot = _dot3(from_light, lc)
            idx = np.nonzero((dot > 0) & (dot * dot >= cos2 * np.float32(lc2) * dist2))[0]
        if len(idx):
            blocked[idx] |= _intersect(prim, p[idx], d[idx]) < 1
    return blocked


def _camera_rays(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Origin [3] and world directions [H*W, 3] with camera-frame z == 1 (so t is z-depth)."""
    u = (np.arange(camera.width, dtype=np.float64) - camera.cx) / camera.fx
    v = (np.arange(camera.height, dtype=np.float64) - camera.cy) / camera.fy
    rot = camera.pose[:3, :3].astype(np.float32)
    # d_world = R @ (u, v, 1): expand as an outer sum rather than a matmul over H*W rows.
    d = (
        u.astype(np.float32)[None, :, None] * rot[:, 0]
        + v.astype(np.float32)[:, None, None] * rot[:, 1]
        + rot[:, 2]
    )
    return camera.pose[:3, 3].astype(np.float32), d.reshape(-1, 3)


# --------------------------------------------------------------------------------------------
# Textures and shading


# Value noise reads a fixed random lattice, periodic over 16 cells, padded by one cell per axis so
# the 8 corners of any cell are plain offsets from its first corner. A gather per corner is several
# times cheaper than hashing lattice coordinates on the fly, and the lattice is part of the
# generator (fixed seed), so it never changes between runs or processes.
_LATTICE_N = 16
_LATTICE = np.pad(
    np.random.default_rng(0x1A77).random((_LATTICE_N,) * 3, dtype=np.float32), ((0, 1),) * 3, mode="wrap"
).reshape(-1)
_STRIDES = ((_LATTICE_N + 1) ** 2, _LATTICE_N + 1, 1)


def _value_noise(q: np.ndarray) -> np.ndarray:
    """Trilinear value noise with smoothstep weights, in [0, 1]."""
    fl = np.floor(q)
    f = q - fl
    w = f * f * (3 - 2 * f)
    i = fl.astype(np.int32) & (_LATTICE_N - 1)
    base = i[:, 0] * _STRIDES[0] + i[:, 1] * _STRIDES[1] + i[:, 2]
    corner = {
        (cx, cy, cz): _LATTICE.take(base + (cx * _STRIDES[0] + cy * _STRIDES[1] + cz))
        for cx in (0, 1) for cy in (0, 1) for cz in (0, 1)
    }
    wx, wy, wz = w[:, 0], w[:, 1], w[:, 2]

    def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
        return a + t * (b - a)

    x00 = lerp(corner[0, 0, 0], corner[1, 0, 0], wx)
    x01 = lerp(corner[0, 0, 1], corner[1, 0, 1], wx)
    x10 = lerp(corner[0, 1, 0], corner[1, 1, 0], wx)
    x11 = lerp(corner[0, 1, 1], corner[1, 1, 1], wx)
    return lerp(lerp(x00, x10, wy), lerp(x01, x11, wy), wz)


_OCTAVE_ROTATION = (3.1 * np.array([[0.8, 0.36, -0.48], [-0.6, 0.48, -0.64], [0.0, 0.8, 0.6]])).astype(np.float32)


def _mat3(q: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``q @ m`` for [N, 3] @ [3, k] without BLAS: on 2 shared cores its threads cost more than they save."""
    return q[:, 0:1] * m[0] + q[:, 1:2] * m[1] + q[:, 2:3] * m[2]


def _dot3(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    return q[:, 0] * v[0] + q[:, 1] * v[1] + q[:, 2] * v[2]


def _albedo(mat: Material, q: np.ndarray) -> np.ndarray:
    q = (q + np.asarray(mat.offset, np.float32)) / np.float32(mat.scale)
    if mat.texture == "checker":
        s = np.floor(q).sum(axis=1)
        t = (s - 2 * np.floor(s / 2)).astype(np.float32)
    elif mat.texture == "stripes":
        t = 0.5 + 0.5 * np.sin(np.float32(2 * math.pi) * _dot3(q, np.asarray(mat.axis, np.float32)))
    elif mat.texture == "gradient":
        s = _dot3(q, np.asarray(mat.axis, np.float32))
        t = np.abs(2 * (s - np.floor(s)) - 1)  # a triangle wave: smooth ramps, no seams
    else:
        # The second octave is turned and shifted so the two lattices' periods never line up.
        t = 0.65 * _value_noise(q) + 0.35 * _value_noise(_mat3(q, _OCTAVE_ROTATION) + np.float32(5.3))
    a, b = np.asarray(mat.color_a, np.float32), np.asarray(mat.color_b, np.float32)
    return a + t[:, None].astype(np.float32) * (b - a)


def _shade(scene: Scene, o: np.ndarray, d: np.ndarray, t: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Linear RGB [N, 3] of the hits: Lambert from the point light, hemispheric ambient, shadows."""
    n_rays = len(d)
    albedo = np.zeros((n_rays, 3), np.float32)
    normal = np.zeros((n_rays, 3), np.float32)
    hit = ids >= 0
    p_all = o + np.where(hit, t, 0)[:, None] * d
    order = np.argsort(ids, kind="stable")
    bounds = np.searchsorted(ids[order], np.arange(len(scene.primitives) + 1))
    for k, prim in enumerate(scene.primitives):
        sel = order[bounds[k] : bounds[k + 1]]
        if len(sel) == 0:
            continue
        n, q = _surface(prim, p_all[sel])
        normal[sel] = n
        albedo[sel] = _albedo(prim.material, q)
    light = scene.light
    to_light = np.asarray(light.position, np.float32) - p_all
    dist2 = np.einsum("ij,ij->i", to_light, to_light)
    dist = np.sqrt(dist2)
    lambert = np.maximum(np.einsum("ij,ij->i", normal, to_light) / np.maximum(dist, 1e-6), 0)
    if light.shadows:
        lit = hit & (lambert > 0)
        idx = np.nonzero(lit)[0]
        start = p_all[idx] + np.float32(1e-3) * normal[idx]
        light_pos = np.asarray(light.position, np.float32)
        blocked = _occluded(scene.primitives, light_pos, start, light_pos - start)
        lambert[idx[blocked]] = 0
    diffuse = np.float32(light.intensity) * lambert / (1 + dist2 / np.float32(light.falloff**2))
    ambient = np.float32(light.ambient) * (np.float32(0.8) + np.float32(0.2) * normal[:, 1])
    rgb = albedo * (ambient + diffuse)[:, None]
    rgb[~hit] = 0
    return rgb


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    # A display gamma so mid-tones are not crushed once quantised to 8 bits.
    return (np.power(np.clip(rgb, 0, 1), np.float32(1 / 2.2)) * 255 + 0.5).astype(np.uint8)


def _cast(scene: Scene, camera: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    o, d = _camera_rays(camera)
    t, ids = _trace(scene, camera, o, d)
    return o, d, t, ids


def _finish(scene: Scene, camera: Camera, cast: tuple) -> tuple[np.ndarray, np.ndarray]:
    o, d, t, ids = cast
    rgb = _shade(scene, o, d, t, ids)
    depth = np.where(ids >= 0, t, 0).astype(np.float32)
    hw = (camera.height, camera.width)
    return _to_uint8(rgb).reshape(*hw, 3), depth.reshape(hw)


def render_depth(scene: Scene, camera: Camera) -> np.ndarray:
    """z-depth in metres, float32 [H, W]; 0 where a ray hits nothing (an open scene)."""
    _, _, t, ids = _cast(scene, camera)
    return np.where(ids >= 0, t, 0).astype(np.float32).reshape(camera.height, camera.width)


def render(scene: Scene, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """RGB uint8 [H, W, 3] and z-depth float32 [H, W] (metres; 0 where nothing is hit)."""
    return _finish(scene, camera, _cast(scene, camera))


@dataclasses.dataclass(frozen=True, eq=False)
class StereoPair:
    """A rectified pair: the right camera sits ``baseline`` m along the left camera's +x axis.

    Disparities are in pixels, ``fx * baseline / depth``; a left pixel ``x`` sees the same point as
    right pixel ``x - disparity_left``, and a right pixel ``x`` as left pixel ``x + disparity_right``.
    """

    left: np.ndarray
    right: np.ndarray
    depth_left: np.ndarray
    depth_right: np.ndarray
    disparity_left: np.ndarray
    disparity_right: np.ndarray
    baseline: float


def _disparity(depth: np.ndarray, fx: float, baseline: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.where(depth > 0, np.float32(fx * baseline) / depth, 0).astype(np.float32)


def render_stereo(scene: Scene, camera: Camera, baseline: float) -> StereoPair:
    """Render ``camera`` (left) and its rectified right partner ``baseline`` metres to its right."""
    if not baseline > 0:
        raise UsageError(f"stereo baseline: expected > 0 metres, got {baseline!r}")
    left, depth_l = render(scene, camera)
    right, depth_r = render(scene, camera.translated((baseline, 0.0, 0.0)))
    return StereoPair(
        left, right, depth_l, depth_r,
        _disparity(depth_l, camera.fx, baseline), _disparity(depth_r, camera.fx, baseline), float(baseline),
    )


# --------------------------------------------------------------------------------------------
# Random scenes, cameras and trajectories


def _check_split(split: str) -> None:
    if split not in _SPLIT_CODES:
        raise UsageError(f"synthetic split: expected one of {SPLITS}, got {split!r}")


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UsageError(f"synthetic {name}: expected an integer >= {minimum}, got {value!r}")


def frame_rng(seed: int, split: str, index: int, kind: str = "mono") -> np.random.Generator:
    """The generator for one frame (or one trajectory): a function of its coordinates only."""
    _check_split(split)
    _check_int("seed", seed, 0)
    _check_int("index", index, 0)
    return np.random.default_rng((_SALT, int(seed), _SPLIT_CODES[split], _KIND_CODES[kind], int(index)))


def _random_color(rng: np.random.Generator, lo: float = 0.15, hi: float = 0.95) -> Vec3:
    return tuple(float(c) for c in rng.uniform(lo, hi, 3))


def random_material(rng: np.random.Generator, scale: tuple[float, float] = (0.1, 0.8)) -> Material:
    texture = TEXTURES[int(rng.integers(len(TEXTURES)))]
    a = _random_color(rng)
    if rng.random() < 0.5:
        b = tuple(float(c * rng.uniform(0.25, 0.7)) for c in a)  # same hue, darker: wood, tiles
    else:
        b = _random_color(rng)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis) + 1e-12
    s = float(rng.uniform(*scale))
    return Material(texture, a, b, s, tuple(float(v) for v in axis), tuple(float(v) for v in rng.uniform(0, s, 3)))


def random_scene(rng: np.random.Generator, max_objects: int = 8) -> Scene:
    """A closed room 3-7 m wide and deep, 2.4-3.2 m high, with boxes, spheres and cylinders in it."""
    size = (rng.uniform(3.0, 7.0), rng.uniform(2.4, 3.2), rng.uniform(3.0, 7.0))
    lo = (-size[0] / 2, 0.0, -size[2] / 2)
    hi = (size[0] / 2, size[1], size[2] / 2)
    walls = random_material(rng, (0.2, 1.0))
    wall_mats = [walls if rng.random() < 0.6 else random_material(rng, (0.2, 1.0)) for _ in range(4)]
    prims: list[Primitive] = list(
        room_planes(lo, hi, random_material(rng, (0.2, 0.8)), random_material(rng, (0.3, 1.2)), wall_mats)
    )
    footprints: list[tuple[float, float, float]] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        kind = rng.choice(3, p=(0.45, 0.25, 0.30))
        if kind == 0:
            sx, sy, sz = rng.uniform(0.3, 1.5), rng.uniform(0.3, 2.0), rng.uniform(0.3, 1.5)
            radius = math.hypot(sx, sz) / 2
        elif kind == 1:
            r = rng.uniform(0.15, 0.6)
            radius = r
        else:
            r, h = rng.uniform(0.1, 0.5), rng.uniform(0.3, 2.2)
            radius = r
        # A few tries for a footprint that neither overlaps another object nor crosses a wall.
        for _ in range(20):
            x = rng.uniform(lo[0] + radius + 0.05, hi[0] - radius - 0.05)
            z = rng.uniform(lo[2] + radius + 0.05, hi[2] - radius - 0.05)
            if all(math.hypot(x - fx, z - fz) > radius + fr + 0.05 for fx, fz, fr in footprints):
                break
        else:
            continue
        footprints.append((x, z, radius))
        mat = random_material(rng)
        if kind == 0:
            prims.append(Box((x, sy / 2, z), (sx, sy, sz), float(rng.uniform(0, math.pi)), mat))
        elif kind == 1:
            y = r if rng.random() < 0.7 else rng.uniform(r, size[1] - r - 0.3)  # some float, like lamps
            prims.append(Sphere((x, float(y), z), float(r), mat))
        else:
            prims.append(Cylinder((x, 0.0, z), float(r), float(h), mat))
    light = Light(
        position=(rng.uniform(lo[0] + 0.3, hi[0] - 0.3), size[1] - rng.uniform(0.15, 0.5), rng.uniform(lo[2] + 0.3, hi[2] - 0.3)),
        intensity=float(rng.uniform(0.8, 1.4)),
        ambient=float(rng.uniform(0.12, 0.35)),
        falloff=float(rng.uniform(2.5, 6.0)),
    )
    return Scene(tuple(prims), light)


def _room_corners(scene: Scene) -> np.ndarray:
    lo = [min(p.position for p in scene.primitives if isinstance(p, Plane) and p.axis == k) for k in range(3)]
    hi = [max(p.position for p in scene.primitives if isinstance(p, Plane) and p.axis == k) for k in range(3)]
    return np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])


def _pose_ok(scene: Scene, pose: np.ndarray, clearance: float, max_depth: float) -> bool:
    pos = pose[:3, 3]
    if any(_signed_distance(p, pos) < clearance for p in scene.primitives):
        return False
    # z-depth is linear in the point, so over the (convex) room its maximum is at a corner.
    return float(((_room_corners(scene) - pos) @ pose[:3, 2]).max()) <= max_depth


def _in_range(depth: np.ndarray, min_depth: float, max_depth: float) -> bool:
    return bool(depth.min() >= min_depth and depth.max() <= max_depth)


def check_camera_ranges(
    fov_deg: Sequence[float], height_m: Sequence[float], pitch_deg: Optional[Sequence[float]] = None
) -> tuple:
    """``(fov_deg, height_m[, pitch_deg])`` as float pairs, or a UsageError naming what is wrong.

    ``pitch_deg`` None (the default camera: pitch ~ N(0, 8 deg) clipped to +-20) is returned as None.
    """
    out = []
    checks = [("fov_deg", fov_deg, *FOV_LIMITS_DEG), ("camera_height", height_m, _CLEARANCE, 3.0 - _CLEARANCE)]
    if pitch_deg is not None:
        checks.append(("pitch_deg", pitch_deg, -60.0, 60.0))
    for name, value, lo, hi in checks:
        ok = (
            isinstance(value, (list, tuple))
            and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            and lo <= value[0] <= value[1] <= hi
        )
        if not ok:
            raise UsageError(f"synthetic {name}: expected [low, high] with {lo:g} <= low <= high <= {hi:g}, got {value!r}")
        out.append((float(value[0]), float(value[1])))
    return (out[0], out[1]) if pitch_deg is None else (out[0], out[1], out[2])


def random_camera(
    rng: np.random.Generator,
    scene: Scene,
    height: int,
    width: int,
    fov_deg: tuple[float, float] = FOV_RANGE_DEG,
    max_depth: float = MAX_DEPTH,
    height_m: tuple[float, float] = CAMERA_HEIGHT_RANGE_M,
    pitch_deg: Optional[tuple[float, float]] = None,
) -> Camera:
    """A phone-like camera: random fov and principal point, ``height_m`` high, small pitch and roll.

    ``pitch_deg`` [low, high] draws the elevation of the optical axis uniformly (negative looks down,
    as a phone pointed at the floor for AR); None keeps the default ~N(0, 8 deg) clipped to +-20 deg.
    Metric depth from one image is only defined up to what the image shows of the camera: a
    narrower fov and height range (one phone, held at chest height) makes it better posed.

    Keeps ``_CLEARANCE`` from every surface, which bounds z-depth below by clearance * cos(the widest
    ray angle) >= MIN_DEPTH for the fov range here.
    """
    fx, fy, cx, cy = intrinsics_for_fov(height, width, float(rng.uniform(*fov_deg)))
    cx += float(rng.uniform(-0.02, 0.02)) * width
    cy += float(rng.uniform(-0.02, 0.02)) * height
    corners = _room_corners(scene)
    lo, hi = corners.min(0), corners.max(0)
    for _ in range(200):
        pos = (
            rng.uniform(lo[0] + _CLEARANCE, hi[0] - _CLEARANCE),
            rng.uniform(min(height_m[0], hi[1] - _CLEARANCE), min(height_m[1], hi[1] - _CLEARANCE)),
            rng.uniform(lo[2] + _CLEARANCE, hi[2] - _CLEARANCE),
        )
        # Aim at an object or somewhere across the room: a random yaw mostly stares at a near wall.
        objects = [p for p in scene.primitives if not isinstance(p, Plane)]
        if objects and rng.random() < 0.6:
            obj = objects[int(rng.integers(len(objects)))]
            target = np.asarray(obj.base if isinstance(obj, Cylinder) else obj.center, np.float64)
        else:
            target = rng.uniform(lo, hi)
        aim = math.atan2(-(target[0] - pos[0]), -(target[2] - pos[2]))
        pose = look_pose(
            pos,
            yaw=aim + float(rng.normal(0, math.radians(20))),
            pitch=(
                float(np.clip(rng.normal(0, math.radians(8)), -math.radians(20), math.radians(20)))
                if pitch_deg is None
                else -math.radians(float(rng.uniform(*pitch_deg)))  # look_pose: positive looks down
            ),
            roll=float(np.clip(rng.normal(0, math.radians(3)), -math.radians(8), math.radians(8))),
        )
        if _pose_ok(scene, pose, _CLEARANCE, max_depth):
            return Camera(height, width, fx, fy, cx, cy, pose)
    raise RuntimeError("random_camera: no pose with enough clearance in 200 tries (scene too cluttered)")


@dataclasses.dataclass(frozen=True, eq=False)
class Frame:
    image: np.ndarray  # uint8 [H, W, 3]
    depth: np.ndarray  # float32 [H, W], z-depth in metres
    intrinsics: np.ndarray  # float32 [4]: fx, fy, cx, cy
    pose: np.ndarray  # float64 [4, 4] camera-to-world


def _random_view(
    seed: int,
    split: str,
    index: int,
    height: int,
    width: int,
    kind: str,
    baseline: float = 0.0,
    fov_deg: tuple[float, float] = FOV_RANGE_DEG,
    height_m: tuple[float, float] = CAMERA_HEIGHT_RANGE_M,
    pitch_deg: Optional[tuple[float, float]] = None,
):
    """Scene, camera and the cast rays of each view (left, then right for stereo) of one random frame.

    Re-draws until every view's depth is in range; the cast is kept so that shading does not trace
    the same rays a second time.
    """
    _check_int("height", height, 1)
    _check_int("width", width, 1)
    rng = frame_rng(seed, split, index, kind)
    for _ in range(20):
        scene = random_scene(rng)
        for _ in range(5):
            try:
                camera = random_camera(rng, scene, height, width, fov_deg, MAX_DEPTH, height_m, pitch_deg)
            except RuntimeError:  # too cluttered for a camera to fit: draw another room
                break
            views = [camera] + ([camera.translated((baseline, 0, 0))] if baseline else [])
            casts = []
            for view in views:
                cast = _cast(scene, view)
                t = cast[2]
                # The pose checks bound depth analytically; this exact check is what guarantees it.
                if not (cast[3].min() >= 0 and t.min() >= MIN_DEPTH and t.max() <= MAX_DEPTH):
                    break
                casts.append(cast)
            else:
                return scene, views, casts
    raise RuntimeError(f"synthetic frame {split}/{index} (seed {seed}): no valid view in 100 tries")


def render_frame(
    seed: int,
    index: int,
    height: int,
    width: int,
    split: str = "train",
    fov_deg: Sequence[float] = FOV_RANGE_DEG,
    height_m: Sequence[float] = CAMERA_HEIGHT_RANGE_M,
    pitch_deg: Optional[Sequence[float]] = None,
) -> Frame:
    """Frame ``index`` of ``split``: the same arguments always give the same pixels.

    ``fov_deg``, ``height_m`` and ``pitch_deg`` bound the random camera's horizontal field of view,
    height and pitch (``random_camera``).
    """
    fov, hm, *pitch = check_camera_ranges(fov_deg, height_m, pitch_deg)
    scene, (camera,), (cast,) = _random_view(
        seed, split, index, height, width, "mono", 0.0, fov, hm, pitch[0] if pitch else None
    )
    image, depth = _finish(scene, camera, cast)
    return Frame(image, depth, camera.intrinsics, camera.pose)


@dataclasses.dataclass(frozen=True, eq=False)
class StereoFrame:
    pair: StereoPair
    intrinsics: np.ndarray  # float32 [4], shared by both views
    pose: np.ndarray  # float64 [4, 4] camera-to-world of the left view


def render_stereo_frame(
    seed: int, index: int, height: int, width: int, split: str = "train", baseline: float = DEFAULT_BASELINE
) -> StereoFrame:
    if isinstance(baseline, bool) or not isinstance(baseline, (int, float)) or not baseline > 0:
        raise UsageError(f"synthetic baseline: expected a positive number of metres, got {baseline!r}")
    scene, (cam_l, cam_r), (cast_l, cast_r) = _random_view(seed, split, index, height, width, "stereo", float(baseline))
    left, depth_l = _finish(scene, cam_l, cast_l)
    right, depth_r = _finish(scene, cam_r, cast_r)
    fx, b = cam_l.fx, float(baseline)
    pair = StereoPair(left, right, depth_l, depth_r, _disparity(depth_l, fx, b), _disparity(depth_r, fx, b), b)
    return StereoFrame(pair, cam_l.intrinsics, cam_l.pose)


def render_chunk(
    kind: str,
    seed: int,
    split: str,
    start: int,
    stop: int,
    height: int,
    width: int,
    baseline: float = DEFAULT_BASELINE,
    fov_deg: Sequence[float] = FOV_RANGE_DEG,
    height_m: Sequence[float] = CAMERA_HEIGHT_RANGE_M,
    pitch_deg: Optional[Sequence[float]] = None,
) -> dict[str, np.ndarray]:
    """Frames ``start .. stop - 1`` stacked into the arrays of an on-disk cache of ``kind``.

    "mono": images, depth, intrinsics, poses. "stereo": left, right, depth, depth_right,
    disparity_left, disparity_right, intrinsics, poses (depth and poses are the left view's).
    """
    n = stop - start
    out: dict[str, np.ndarray] = {"intrinsics": np.empty((n, 4), np.float32), "poses": np.empty((n, 4, 4), np.float32)}
    for name in ("images",) if kind == "mono" else ("left", "right"):
        out[name] = np.empty((n, height, width, 3), np.uint8)
    for name in ("depth",) if kind == "mono" else ("depth", "depth_right", "disparity_left", "disparity_right"):
        out[name] = np.empty((n, height, width), np.float32)
    for j, i in enumerate(range(start, stop)):
        if kind == "mono":
            f = render_frame(seed, i, height, width, split, fov_deg, height_m, pitch_deg)
            out["images"][j], out["depth"][j] = f.image, f.depth
        elif kind == "stereo":
            f = render_stereo_frame(seed, i, height, width, split, baseline)
            out["left"][j], out["right"][j] = f.pair.left, f.pair.right
            out["depth"][j], out["depth_right"][j] = f.pair.depth_left, f.pair.depth_right
            out["disparity_left"][j], out["disparity_right"][j] = f.pair.disparity_left, f.pair.disparity_right
        else:
            raise UsageError(f"synthetic chunk kind: expected 'mono' or 'stereo', got {kind!r}")
        out["intrinsics"][j], out["poses"][j] = f.intrinsics, f.pose
    return out


def render_into_files(folder: str, tasks: Sequence[Sequence]) -> None:
    """Render each ``render_chunk`` argument tuple in ``tasks`` into ``folder``'s ``NAME.npy`` files.

    The worker side of the synthetic cache builder: it runs in a fresh interpreter started with
    ``python -c`` (so a user's unguarded ``__main__`` is never re-imported, unlike a spawn pool),
    writes frames ``start .. stop - 1`` in place through memory maps and prints one line per chunk.
    """
    arrays: dict[str, np.ndarray] = {}
    for task in tasks:
        start, stop = int(task[3]), int(task[4])
        chunk = render_chunk(*task)
        for name, values in chunk.items():
            if name not in arrays:
                arrays[name] = np.load(f"{folder}/{name}.npy", mmap_mode="r+")
            arrays[name][start:stop] = values
        for a in arrays.values():
            a.flush()
        print(stop - start, flush=True)


@dataclasses.dataclass(frozen=True, eq=False)
class Trajectory:
    images: np.ndarray  # uint8 [N, H, W, 3]
    depths: np.ndarray  # float32 [N, H, W]
    intrinsics: np.ndarray  # float32 [N, 4] (one camera, repeated)
    poses: np.ndarray  # float64 [N, 4, 4] camera-to-world


def _trajectory_poses(rng: np.random.Generator, scene: Scene, count: int, fps: float) -> np.ndarray:
    """A smooth hand-held path: sinusoids in position and yaw, small pitch and roll wobble."""
    corners = _room_corners(scene)
    lo, hi = corners.min(0), corners.max(0)
    centre = (lo + hi) / 2
    span = (hi - lo) / 2 - _CLEARANCE - 0.05
    amp = np.array([span[0] * rng.uniform(0.3, 0.9), 0.08, span[2] * rng.uniform(0.3, 0.9)])
    # Angular rates keep the camera under ~1 m/s, i.e. a walking phone at ``fps`` frames a second.
    omega = rng.uniform(0.15, 0.4, 3) / max(1.0, float(np.abs(amp).max()))
    phase = rng.uniform(0, 2 * math.pi, 3)
    y0 = rng.uniform(1.0, min(1.6, hi[1] - _CLEARANCE - 0.1))
    yaw0, yaw_amp, yaw_rate = rng.uniform(0, 2 * math.pi), rng.uniform(0.2, 0.8), rng.uniform(-0.25, 0.25)
    yaw_omega, yaw_phase = rng.uniform(0.2, 0.6), rng.uniform(0, 2 * math.pi)
    pitch0, roll0 = rng.normal(0, math.radians(5)), rng.normal(0, math.radians(2))
    poses = np.empty((count, 4, 4))
    for i in range(count):
        s = i / fps
        pos = centre + amp * np.sin(omega * s + phase)
        pos[1] = y0 + amp[1] * math.sin(omega[1] * s + phase[1])
        yaw = yaw0 + yaw_rate * s + yaw_amp * math.sin(yaw_omega * s + yaw_phase)
        pitch = pitch0 + math.radians(3) * math.sin(0.7 * s + phase[0])
        roll = roll0 + math.radians(1.5) * math.sin(0.9 * s + phase[2])
        poses[i] = look_pose(pos, yaw, pitch, roll)
    return poses


def render_trajectory(
    seed: int, count: int, height: int, width: int, split: str = "train", index: int = 0, fps: float = 10.0
) -> Trajectory:
    """``count`` frames of one scene along a smooth camera path (sequence ``index`` of ``split``).

    Consecutive frames are ``1 / fps`` seconds apart on a path moving under about 1 m/s, so relative
    motion between neighbours is a few centimetres and degrees, as for a hand-held phone.
    """
    _check_int("count", count, 1)
    _check_int("height", height, 1)
    _check_int("width", width, 1)
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
        raise UsageError(f"synthetic fps: expected a positive number, got {fps!r}")
    rng = frame_rng(seed, split, index, "sequence")
    for _ in range(20):
        scene = random_scene(rng)
        fx, fy, cx, cy = intrinsics_for_fov(height, width, float(rng.uniform(*FOV_RANGE_DEG)))
        for _ in range(10):
            poses = _trajectory_poses(rng, scene, count, float(fps))
            # Objects in the camera's way are dropped rather than the path bent round them.
            keep = tuple(
                p for p in scene.primitives
                if isinstance(p, Plane) or min(_signed_distance(p, pose[:3, 3]) for pose in poses) >= _CLEARANCE
            )
            path_scene = Scene(keep, scene.light)
            if not all(_pose_ok(path_scene, pose, _CLEARANCE, MAX_DEPTH) for pose in poses):
                continue
            images = np.empty((count, height, width, 3), np.uint8)
            depths = np.empty((count, height, width), np.float32)
            for i, pose in enumerate(poses):
                images[i], depths[i] = render(path_scene, Camera(height, width, fx, fy, cx, cy, pose))
            if _in_range(depths, MIN_DEPTH, MAX_DEPTH):
                intrinsics = np.tile(np.array([fx, fy, cx, cy], np.float32), (count, 1))
                return Trajectory(images, depths, intrinsics, poses)
    raise RuntimeError(f"synthetic trajectory {split}/{index} (seed {seed}): no valid path in 200 tries")
