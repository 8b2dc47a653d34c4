"""Colour of the ray hits: procedural textures, a point light with shadows, and the display gamma."""
from __future__ import annotations

import math

import numpy as np

from keras_depth.data.synthetic.raycast import dot3, occluded, surface
from keras_depth.data.synthetic.scene import Material, Scene

# Value noise reads a fixed random lattice, periodic over 16 cells, padded by one cell per axis so
# the 8 corners of any cell are plain offsets from its first corner. A gather per corner is cheaper
# than hashing lattice coordinates on the fly (docs/data.md), and the lattice is part of the
# generator (fixed seed), so it never changes between runs or processes.
_LATTICE_N = 16
_LATTICE = np.pad(
    np.random.default_rng(0x1A77).random((_LATTICE_N,) * 3, dtype=np.float32), ((0, 1),) * 3, mode="wrap"
).reshape(-1)
_STRIDES = ((_LATTICE_N + 1) ** 2, _LATTICE_N + 1, 1)
_OCTAVE_ROTATION = (3.1 * np.array([[0.8, 0.36, -0.48], [-0.6, 0.48, -0.64], [0.0, 0.8, 0.6]])).astype(np.float32)


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


def _mat3(q: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``q @ m`` for [N, 3] @ [3, k] written out, without BLAS: at k = 3 BLAS threads cost more than
    the multiply (docs/data.md)."""
    return q[:, 0:1] * m[0] + q[:, 1:2] * m[1] + q[:, 2:3] * m[2]


def albedo(mat: Material, q: np.ndarray) -> np.ndarray:
    """Linear RGB [M, 3] of ``mat`` at texture coordinates ``q`` [M, 3]."""
    q = (q + np.asarray(mat.offset, np.float32)) / np.float32(mat.scale)
    if mat.texture == "checker":
        s = np.floor(q).sum(axis=1)
        t = (s - 2 * np.floor(s / 2)).astype(np.float32)
    elif mat.texture == "stripes":
        t = 0.5 + 0.5 * np.sin(np.float32(2 * math.pi) * dot3(q, np.asarray(mat.axis, np.float32)))
    elif mat.texture == "gradient":
        s = dot3(q, np.asarray(mat.axis, np.float32))
        t = np.abs(2 * (s - np.floor(s)) - 1)  # a triangle wave: smooth ramps, no seams
    else:
        # The second octave is turned and shifted so the two lattices' periods never line up.
        t = 0.65 * _value_noise(q) + 0.35 * _value_noise(_mat3(q, _OCTAVE_ROTATION) + np.float32(5.3))
    a, b = np.asarray(mat.color_a, np.float32), np.asarray(mat.color_b, np.float32)
    return a + t[:, None].astype(np.float32) * (b - a)


def shade(scene: Scene, o: np.ndarray, d: np.ndarray, t: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Linear RGB [N, 3] of the hits: Lambert from the point light, hemispheric ambient, shadows."""
    n_rays = len(d)
    colour = np.zeros((n_rays, 3), np.float32)
    normal = np.zeros((n_rays, 3), np.float32)
    hit = ids >= 0
    p_all = o + np.where(hit, t, 0)[:, None] * d
    order = np.argsort(ids, kind="stable")
    starts = np.searchsorted(ids[order], np.arange(len(scene.primitives) + 1))
    for k, prim in enumerate(scene.primitives):
        sel = order[starts[k] : starts[k + 1]]
        if len(sel) == 0:
            continue
        n, q = surface(prim, p_all[sel])
        normal[sel] = n
        colour[sel] = albedo(prim.material, q)
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
        blocked = occluded(scene.primitives, light_pos, start, light_pos - start)
        lambert[idx[blocked]] = 0
    diffuse = np.float32(light.intensity) * lambert / (1 + dist2 / np.float32(light.falloff**2))
    ambient = np.float32(light.ambient) * (np.float32(0.8) + np.float32(0.2) * normal[:, 1])
    rgb = colour * (ambient + diffuse)[:, None]
    rgb[~hit] = 0
    return rgb


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    # A display gamma so mid-tones are not crushed once quantised to 8 bits.
    return (np.power(np.clip(rgb, 0, 1), np.float32(1 / 2.2)) * 255 + 0.5).astype(np.uint8)
