"""A small numpy z-buffer rasterizer for virtual objects in the camera frame.

Conventions follow depth-core's Cube.kt so the desktop and phone demos agree: camera axes x right,
y down, z forward (z is the depth the model predicts); a point projects to
``u = fx * X / Z + cx`` in continuous pixel coordinates where pixel ``i`` spans ``[i, i + 1)``,
and triangles are sampled at pixel centres ``i + 0.5`` (``keras_depth.geometry.pixel_centers``).
Depth and texture coordinates are interpolated perspective-correctly (1/z, u/z and v/z are affine
in screen space).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import numpy as np

from keras_depth.errors import UsageError
from keras_depth.geometry import Intrinsics, pixel_centers

DEFAULT_COLOR = (0x2E, 0x9B, 0xFF)  # depth-core Cube's default colour
# Unit vector from a surface towards the light: above (-y), left (-x) and behind the camera (-z),
# so faces turned towards the camera are lit and the cube's faces get distinct shades.
DEFAULT_LIGHT = tuple(np.array([-0.5, -0.6, -1.0]) / np.linalg.norm([-0.5, -0.6, -1.0]))
DEFAULT_AMBIENT = 0.35


@dataclasses.dataclass
class Material:
    color: tuple[int, int, int] = DEFAULT_COLOR  # RGB 0..255 (the .mtl Kd), multiplied into the texture
    texture: Optional[np.ndarray] = None  # uint8 RGB [h, w, 3] (the .mtl map_Kd)
    name: str = "default"


@dataclasses.dataclass
class Mesh:
    """Triangles over shared vertices; optional per-corner texture coordinates and normals."""

    vertices: np.ndarray  # float64 [V, 3]
    faces: np.ndarray  # int [F, 3]
    uvs: Optional[np.ndarray] = None  # float64 [T, 2]
    face_uvs: Optional[np.ndarray] = None  # int [F, 3] into uvs, -1 where a corner has none
    normals: Optional[np.ndarray] = None  # float64 [N, 3]
    face_normals: Optional[np.ndarray] = None  # int [F, 3] into normals, -1 where a corner has none
    materials: list = dataclasses.field(default_factory=lambda: [Material()])
    face_materials: Optional[np.ndarray] = None  # int [F] into materials (default all 0)

    def __post_init__(self) -> None:
        self.vertices = np.asarray(self.vertices, np.float64).reshape(-1, 3)
        self.faces = np.asarray(self.faces, np.int64).reshape(-1, 3)
        if self.faces.size and (self.faces.min() < 0 or self.faces.max() >= len(self.vertices)):
            raise UsageError(f"mesh: face indices must lie in [0, {len(self.vertices)}), got {self.faces.min()}..{self.faces.max()}")
        if self.face_materials is None:
            self.face_materials = np.zeros(len(self.faces), np.int64)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    def transformed(self, rotation: Optional[np.ndarray] = None, translation: Sequence[float] = (0, 0, 0), scale: float = 1.0) -> "Mesh":
        """``x -> R (scale x) + t`` for vertices (normals are rotated)."""
        r = np.eye(3) if rotation is None else np.asarray(rotation, np.float64)
        v = (self.vertices * scale) @ r.T + np.asarray(translation, np.float64)
        n = None if self.normals is None else self.normals @ r.T
        return dataclasses.replace(self, vertices=v, normals=n)

    def normalized(self, size: float) -> "Mesh":
        """Centred at the origin (bounding-box centre) with its largest extent equal to ``size``."""
        lo, hi = self.bounds()
        extent = float(np.max(hi - lo))
        if not extent > 0:
            raise UsageError("mesh: all vertices coincide; nothing to render")
        return self.transformed(translation=-(lo + hi) / 2 * (size / extent), scale=size / extent)


@dataclasses.dataclass
class Rendered:
    """An object rendered into the frame: straight-alpha RGBA and z-depth (+inf where absent)."""

    rgba: np.ndarray  # uint8 [H, W, 4]
    depth: np.ndarray  # float32 [H, W]

    @property
    def mask(self) -> np.ndarray:
        return np.isfinite(self.depth)


def rotation_x(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], np.float64)


def rotation_y(deg: float) -> np.ndarray:
    """Yaw about the vertical axis, as Cube.kt: ``x' = c x + s z, z' = -s x + c z``."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float64)


# Cube.kt's faces: vertex i has bits (x, y, z) = (i&1, i&2, i&4); counter-clockwise seen from outside.
_CUBE_FACES = ((0, 1, 3, 2), (4, 6, 7, 5), (0, 2, 6, 4), (1, 5, 7, 3), (0, 4, 5, 1), (2, 3, 7, 6))


def cube_mesh(size: float = 1.0, color: tuple[int, int, int] = DEFAULT_COLOR, texture: Optional[np.ndarray] = None) -> Mesh:
    """A cube of edge ``size`` centred at the origin; each face maps the whole texture (if any)."""
    if not size > 0:
        raise UsageError(f"cube size must be positive, got {size}")
    h = size / 2
    verts = np.array([[h if i & 1 else -h, h if i & 2 else -h, h if i & 4 else -h] for i in range(8)])
    faces, face_uvs = [], []
    uvs = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64)
    for a, b, c, d in _CUBE_FACES:
        faces += [(a, b, c), (a, c, d)]
        face_uvs += [(0, 1, 2), (0, 2, 3)]
    return Mesh(verts, np.array(faces), uvs=uvs, face_uvs=np.array(face_uvs),
                materials=[Material(color=tuple(color), texture=texture, name="cube")])


def _sample_texture(tex: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear lookup, repeat-wrapped outside [0, 1]; v = 0 is the bottom row (OBJ convention)."""
    th, tw = tex.shape[:2]
    u = np.where((u < 0) | (u > 1), u - np.floor(u), u)
    v = np.where((v < 0) | (v > 1), v - np.floor(v), v)
    x = u * (tw - 1)
    y = (1.0 - v) * (th - 1)
    x0 = np.clip(np.floor(x).astype(np.int64), 0, tw - 1)
    y0 = np.clip(np.floor(y).astype(np.int64), 0, th - 1)
    x1, y1 = np.minimum(x0 + 1, tw - 1), np.minimum(y0 + 1, th - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    t = tex.astype(np.float64)
    top = t[y0, x0] * (1 - fx) + t[y0, x1] * fx
    bot = t[y1, x0] * (1 - fx) + t[y1, x1] * fx
    return top * (1 - fy) + bot * fy


def render_mesh(mesh: Mesh, k: Intrinsics, width: int, height: int, light: Sequence[float] = DEFAULT_LIGHT,
                ambient: float = DEFAULT_AMBIENT, near: float = 0.01, alpha: int = 255) -> Rendered:
    """Rasterises ``mesh`` (camera coordinates) into a ``width`` x ``height`` :class:`Rendered`.

    Lambert shading, two-sided (normals are turned to face the camera): flat from each triangle's
    plane, or per pixel from interpolated vertex normals where the mesh has them. Triangles with a
    corner at z <= ``near`` are dropped rather than clipped.
    """
    if width <= 0 or height <= 0:
        raise UsageError(f"image size must be positive, got {width}x{height}")
    zbuf = np.full((height, width), np.inf, np.float64)
    rgb = np.zeros((height, width, 3), np.float64)
    lvec = np.asarray(light, np.float64)
    lvec = lvec / np.linalg.norm(lvec)
    v = mesh.vertices
    if len(mesh.faces) == 0:
        return Rendered(np.zeros((height, width, 4), np.uint8), zbuf.astype(np.float32))
    front = np.all(v[mesh.faces][:, :, 2] > near, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scr = k.project(v)
        iz = 1.0 / v[:, 2]
    for f in np.flatnonzero(front):
        ia, ib, ic = mesh.faces[f]
        (ax, ay), (bx, by), (cx, cy) = scr[ia], scr[ib], scr[ic]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if abs(area) < 1e-12:
            continue
        x0 = max(0, math.floor(min(ax, bx, cx) - 0.5))
        x1 = min(width - 1, math.ceil(max(ax, bx, cx) - 0.5))
        y0 = max(0, math.floor(min(ay, by, cy) - 0.5))
        y1 = min(height - 1, math.ceil(max(ay, by, cy) - 0.5))
        if x0 > x1 or y0 > y1:
            continue
        sx, sy = pixel_centers(y1 - y0 + 1, x1 - x0 + 1)
        sx, sy = sx + x0, sy + y0
        w0 = ((bx - sx) * (cy - sy) - (by - sy) * (cx - sx)) / area
        w1 = ((cx - sx) * (ay - sy) - (cy - sy) * (ax - sx)) / area
        w2 = 1.0 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        if not inside.any():
            continue
        inv = w0 * iz[ia] + w1 * iz[ib] + w2 * iz[ic]
        z = 1.0 / np.where(inside, inv, 1.0)
        sub = zbuf[y0:y1 + 1, x0:x1 + 1]
        upd = inside & (z < sub)
        if not upd.any():
            continue
        # Perspective-correct weights of the three corners at the updated pixels.
        pw = np.stack([w0[upd] * iz[ia], w1[upd] * iz[ib], w2[upd] * iz[ic]], axis=-1) / inv[upd][:, None]
        shade = _shade(mesh, f, pw, lvec, ambient)
        mat = mesh.materials[int(mesh.face_materials[f])]
        color = np.asarray(mat.color, np.float64)[None, :]
        if mat.texture is not None and mesh.face_uvs is not None and np.all(mesh.face_uvs[f] >= 0):
            uv = pw @ mesh.uvs[mesh.face_uvs[f]]
            color = _sample_texture(mat.texture, uv[:, 0], uv[:, 1]) * (color / 255.0)
        sub[upd] = z[upd]
        rgb[y0:y1 + 1, x0:x1 + 1][upd] = color * shade[:, None]
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., :3] = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    rgba[..., 3] = np.where(np.isfinite(zbuf), alpha, 0).astype(np.uint8)
    return Rendered(rgba, zbuf.astype(np.float32))


def _shade(mesh: Mesh, f: int, pw: np.ndarray, lvec: np.ndarray, ambient: float) -> np.ndarray:
    tri = mesh.vertices[mesh.faces[f]]
    centroid = tri.mean(axis=0)
    if mesh.face_normals is not None and np.all(mesh.face_normals[f] >= 0):
        n = pw @ mesh.normals[mesh.face_normals[f]]
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        # Two-sided: a normal pointing away from the camera is flipped (the camera sits at the origin).
        n *= np.where(n @ centroid > 0, -1.0, 1.0)[:, None]
        return ambient + (1 - ambient) * np.maximum(n @ lvec, 0.0)
    n = np.cross(tri[1] - tri[0], tri[2] - tri[0])
    n /= max(np.linalg.norm(n), 1e-12)
    if n @ centroid > 0:
        n = -n
    return np.full(len(pw), ambient + (1 - ambient) * max(float(n @ lvec), 0.0))
