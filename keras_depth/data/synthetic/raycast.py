"""Ray casting against the scene's primitives, in numpy.

Rays are cast with a camera-frame direction whose z component is 1, so the ray parameter ``t`` of a
hit *is* its z-depth along the optical axis (not the ray length) and no per-pixel conversion is
needed. Every image's rays are cast at once against one primitive at a time (analytic plane, slab
box, sphere and vertical capped cylinder tests) and the nearest hit wins.

``o`` is [3] (one camera centre) or [N, 3] (shadow rays); ``d`` is [N, 3].
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional, Sequence

import numpy as np

from keras_depth.data.synthetic.scene import (
    Box, Camera, Cylinder, Plane, Primitive, Scene, Sphere, bounding_sphere, bounds,
)
from keras_depth.errors import UsageError
from keras_depth.geometry import pixel_centers

EPS = 1e-4  # self-intersection guard, metres along a z=1 ray


def dot3(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise dot products [N] of ``q`` [N, 3] with ``v`` [3]."""
    return q[:, 0] * v[0] + q[:, 1] * v[1] + q[:, 2] * v[2]


def intersect(prim: Primitive, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Nearest hit parameter ``t > EPS`` per ray, +inf where the ray misses."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if isinstance(prim, Plane):
            dk = d[:, prim.axis]
            t = (np.float32(prim.position) - o[..., prim.axis]) / dk
            ok = (dk * prim.facing < 0) & (t > EPS)
            return np.where(ok, t, np.inf).astype(np.float32, copy=False)
        if isinstance(prim, Sphere):
            oc = (o - np.asarray(prim.center, np.float32)).astype(np.float32)
            a = np.einsum("ij,ij->i", d, d)
            if oc.ndim == 1:
                b, c = dot3(d, oc), oc @ oc
            else:
                b, c = np.einsum("ij,ij->i", d, oc), np.einsum("ij,ij->i", oc, oc)
            c = c - np.float32(prim.radius**2)
            disc = b * b - a * c
            t = (-b - np.sqrt(np.maximum(disc, 0))) / a
            return np.where((disc >= 0) & (t > EPS), t, np.inf).astype(np.float32, copy=False)
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
            ok = (tnear <= tfar) & (tnear > EPS)
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
            t_side = np.where((disc >= 0) & (ts > EPS) & (ys >= by) & (ys <= top), ts, np.inf)
            # Seen from outside only the cap on the viewer's side can be the first hit.
            t_cap = np.full_like(dx, np.inf)
            for y_cap, above in ((top, oy > top), (by, oy < by)):
                tc = (y_cap - oy) / dy
                rx, rz = ox + tc * dx, oz + tc * dz
                ok = above & (tc > EPS) & (rx * rx + rz * rz <= r2)
                t_cap = np.where(ok, tc, t_cap)
            return np.minimum(t_side, t_cap).astype(np.float32, copy=False)
    raise UsageError(f"scene primitive: expected Plane, Box, Sphere or Cylinder, got {type(prim).__name__}")


def surface(prim: Primitive, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def screen_rect(prim: Primitive, camera: Camera) -> Optional[tuple[int, int, int, int]]:
    """Pixel rows/cols (v0, v1, u0, u1) that can see a finite primitive; None when it is off screen.

    Projecting the bounding box's corners is conservative (the margins cover the pixel-centre
    offset too); if any corner is behind the camera the projection is unbounded and the whole image
    is returned.
    """
    lo, hi = bounds(prim)
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


def trace(scene: Scene, camera: Camera, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
            rect = screen_rect(prim, camera)
            if rect is None:
                continue
        v0, v1, u0, u1 = rect
        t = intersect(prim, o, d_img[v0:v1, u0:u1].reshape(-1, 3)).reshape(v1 - v0, u1 - u0)
        bt, bi = best_t[v0:v1, u0:u1], best_id[v0:v1, u0:u1]
        closer = t < bt
        bt[closer] = t[closer]
        bi[closer] = k
    return best_t.reshape(-1), best_id.reshape(-1)


def occluded(primitives: Sequence[Primitive], light: np.ndarray, p: np.ndarray, d: np.ndarray) -> np.ndarray:
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
        c, r = bounding_sphere(prim)
        lc = (c - light).astype(np.float32)
        lc2 = float(lc @ lc)
        if lc2 <= r * r:
            idx = np.arange(len(d))
        else:
            cos2 = np.float32(1.0 - r * r / lc2)
            dot = dot3(from_light, lc)
            idx = np.nonzero((dot > 0) & (dot * dot >= cos2 * np.float32(lc2) * dist2))[0]
        if len(idx):
            blocked[idx] |= intersect(prim, p[idx], d[idx]) < 1
    return blocked


def camera_rays(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Origin [3] and world directions [H*W, 3] through the pixel centres, camera-frame z == 1."""
    u, v = pixel_centers(camera.height, camera.width)
    x = (u[0] - camera.cx) / camera.fx
    y = (v[:, 0] - camera.cy) / camera.fy
    rot = camera.pose[:3, :3].astype(np.float32)
    # d_world = R @ (x, y, 1): expand as an outer sum rather than a matmul over H*W rows.
    d = x.astype(np.float32)[None, :, None] * rot[:, 0] + y.astype(np.float32)[:, None, None] * rot[:, 1] + rot[:, 2]
    return camera.pose[:3, 3].astype(np.float32), d.reshape(-1, 3)


class Cast(NamedTuple):
    """The rays of one view and what they hit: ``t`` is z-depth, ``ids`` the primitive (-1: none)."""

    origin: np.ndarray  # float32 [3]
    directions: np.ndarray  # float32 [H*W, 3]
    t: np.ndarray  # float32 [H*W]
    ids: np.ndarray  # int32 [H*W]


def cast(scene: Scene, camera: Camera) -> Cast:
    o, d = camera_rays(camera)
    t, ids = trace(scene, camera, o, d)
    return Cast(o, d, t, ids)
