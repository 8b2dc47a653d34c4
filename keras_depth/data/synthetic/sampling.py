"""Random rooms and phone-like cameras in them, each drawn from the frame's own random stream.

Frame ``i`` of a split is drawn from ``np.random.default_rng((salt, seed, split, kind, i))``, so it
never depends on how many frames were rendered before it, and train/val/test never share a scene. A
random scene is a closed room, so every pixel hits something and depth is dense.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import numpy as np

from keras_depth.data.synthetic.scene import (
    Box, Camera, Cylinder, Light, Material, Plane, Primitive, Scene, Sphere, TEXTURES, Vec3, intrinsics_for_fov,
    look_pose, room_corners, room_planes, signed_distance,
)
from keras_depth.errors import UsageError

SPLITS = ("train", "val", "test")
# Depth range every random frame is guaranteed to fall in (the default model spec is 0.25-10 m);
# poses that would break it are re-drawn rather than clipped.
MIN_DEPTH = 0.3
MAX_DEPTH = 10.0
FOV_RANGE_DEG = (50.0, 75.0)  # horizontal field of view of random cameras
CAMERA_HEIGHT_RANGE_M = (0.8, 1.8)  # height of random cameras above the floor
FOV_LIMITS_DEG = (20.0, 90.0)  # what the clearance argument in random_camera holds for
CLEARANCE = 0.6  # metres between a random camera and any surface; see random_camera

_SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
_KIND_CODES = {"mono": 0, "stereo": 1, "sequence": 2}
_SALT = 0x5D3E7  # keeps these streams apart from any other default_rng(seed) in a run


def check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UsageError(f"synthetic {name}: expected an integer >= {minimum}, got {value!r}")


def check_split(split: str) -> None:
    if split not in _SPLIT_CODES:
        raise UsageError(f"synthetic split: expected one of {SPLITS}, got {split!r}")


def frame_rng(seed: int, split: str, index: int, kind: str = "mono") -> np.random.Generator:
    """The generator for one frame (or one trajectory): a function of its coordinates only."""
    check_split(split)
    check_int("seed", seed, 0)
    check_int("index", index, 0)
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


def pose_ok(scene: Scene, pose: np.ndarray, clearance: float, max_depth: float) -> bool:
    """``clearance`` metres from every surface, and no z-depth beyond ``max_depth`` anywhere in the room."""
    pos = pose[:3, 3]
    if any(signed_distance(p, pos) < clearance for p in scene.primitives):
        return False
    # z-depth is linear in the point, so over the (convex) room its maximum is at a corner.
    return float(((room_corners(scene) - pos) @ pose[:3, 2]).max()) <= max_depth


def depth_in_range(depth: np.ndarray, min_depth: float = MIN_DEPTH, max_depth: float = MAX_DEPTH) -> bool:
    return bool(depth.min() >= min_depth and depth.max() <= max_depth)


@dataclasses.dataclass(frozen=True)
class CameraRanges:
    """Bounds of the random camera: horizontal fov (degrees), height above the floor (metres) and
    pitch (degrees, negative looks down; None: the default ~N(0, 8 deg) clipped to +-20)."""

    fov_deg: tuple[float, float] = FOV_RANGE_DEG
    height_m: tuple[float, float] = CAMERA_HEIGHT_RANGE_M
    pitch_deg: Optional[tuple[float, float]] = None

    @classmethod
    def checked(
        cls, fov_deg: Sequence[float], height_m: Sequence[float], pitch_deg: Optional[Sequence[float]] = None
    ) -> "CameraRanges":
        """Float pairs from config values, or a UsageError naming what is wrong."""
        out = []
        checks = [("fov_deg", fov_deg, *FOV_LIMITS_DEG), ("camera_height", height_m, CLEARANCE, 3.0 - CLEARANCE)]
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
                raise UsageError(
                    f"synthetic {name}: expected [low, high] with {lo:g} <= low <= high <= {hi:g}, got {value!r}"
                )
            out.append((float(value[0]), float(value[1])))
        return cls(out[0], out[1], out[2] if pitch_deg is not None else None)

    @property
    def is_default(self) -> bool:
        return self == CameraRanges()

    @classmethod
    def of_entries(cls, entries: Sequence[dict]) -> Optional["CameraRanges"]:
        """The camera of the first ``type: synthetic`` entry (a config's ``data.train``) that sets one
        of ``fov_deg``, ``camera_height``, ``pitch_deg``; None when none does."""
        for e in entries:
            if e.get("type") == "synthetic" and any(k in e for k in ("fov_deg", "camera_height", "pitch_deg")):
                return cls.checked(e.get("fov_deg", FOV_RANGE_DEG), e.get("camera_height", CAMERA_HEIGHT_RANGE_M),
                                   e.get("pitch_deg"))
        return None


def random_camera(
    rng: np.random.Generator, scene: Scene, height: int, width: int, ranges: CameraRanges = CameraRanges(),
    max_depth: float = MAX_DEPTH,
) -> Camera:
    """A phone-like camera: random fov and principal point, ``ranges.height_m`` high, small pitch and roll.

    Metric depth from one image is only defined up to what the image shows of the camera: a
    narrower fov and height range (one phone, held at chest height) makes it better posed.

    Keeps ``CLEARANCE`` from every surface, which bounds z-depth below by clearance * cos(the widest
    ray angle) >= MIN_DEPTH for the fov range here.
    """
    fx, fy, cx, cy = intrinsics_for_fov(height, width, float(rng.uniform(*ranges.fov_deg)))
    cx += float(rng.uniform(-0.02, 0.02)) * width
    cy += float(rng.uniform(-0.02, 0.02)) * height
    corners = room_corners(scene)
    lo, hi = corners.min(0), corners.max(0)
    height_m = ranges.height_m
    for _ in range(200):
        pos = (
            rng.uniform(lo[0] + CLEARANCE, hi[0] - CLEARANCE),
            rng.uniform(min(height_m[0], hi[1] - CLEARANCE), min(height_m[1], hi[1] - CLEARANCE)),
            rng.uniform(lo[2] + CLEARANCE, hi[2] - CLEARANCE),
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
                if ranges.pitch_deg is None
                else -math.radians(float(rng.uniform(*ranges.pitch_deg)))  # look_pose: positive looks down
            ),
            roll=float(np.clip(rng.normal(0, math.radians(3)), -math.radians(8), math.radians(8))),
        )
        if pose_ok(scene, pose, CLEARANCE, max_depth):
            return Camera(height, width, fx, fy, cx, cy, pose)
    raise RuntimeError("random_camera: no pose with enough clearance in 200 tries (scene too cluttered)")
