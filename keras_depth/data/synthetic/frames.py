"""Random frames by coordinates: ``render_frame(seed, index, ...)`` always gives the same pixels.

Mono frames, rectified stereo frames and smooth hand-held trajectories, each in the frame schema
(``schema.Frame``, ``schema.StereoFrame``; a trajectory is a ``Frame`` with a leading frame axis).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from keras_depth.data.synthetic.raycast import Cast, cast
from keras_depth.data.synthetic.renderer import render, shade_cast, stereo_frame
from keras_depth.data.synthetic.sampling import (
    CAMERA_HEIGHT_RANGE_M, CLEARANCE, FOV_RANGE_DEG, MAX_DEPTH, MIN_DEPTH, CameraRanges, check_int, depth_in_range,
    frame_rng, pose_ok, random_camera, random_scene,
)
from keras_depth.data.synthetic.scene import Camera, Plane, Scene, intrinsics_for_fov, look_pose, room_corners, signed_distance
from keras_depth.data.synthetic.schema import Frame, StereoFrame, empty_arrays
from keras_depth.errors import UsageError

DEFAULT_BASELINE = 0.12  # metres, a little wider than a phone's dual camera


def _random_views(
    seed: int, split: str, index: int, height: int, width: int, kind: str, baseline: float = 0.0,
    ranges: CameraRanges = CameraRanges(),
) -> tuple[Scene, list[Camera], list[Cast]]:
    """Scene, camera and the cast rays of each view (left, then right for stereo) of one random frame.

    Re-draws until every view's depth is in range; the cast is kept so that shading does not trace
    the same rays a second time.
    """
    check_int("height", height, 1)
    check_int("width", width, 1)
    rng = frame_rng(seed, split, index, kind)
    for _ in range(20):
        scene = random_scene(rng)
        for _ in range(5):
            try:
                camera = random_camera(rng, scene, height, width, ranges, MAX_DEPTH)
            except RuntimeError:  # too cluttered for a camera to fit: draw another room
                break
            views = [camera] + ([camera.translated((baseline, 0, 0))] if baseline else [])
            casts = []
            for view in views:
                rays = cast(scene, view)
                # The pose checks bound depth analytically; this exact check is what guarantees it.
                if not (rays.ids.min() >= 0 and depth_in_range(rays.t)):
                    break
                casts.append(rays)
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
    height and pitch (``CameraRanges``).
    """
    ranges = CameraRanges.checked(fov_deg, height_m, pitch_deg)
    scene, (camera,), (rays,) = _random_views(seed, split, index, height, width, "mono", 0.0, ranges)
    return shade_cast(scene, camera, rays)


def _check_baseline(baseline: object) -> float:
    if isinstance(baseline, bool) or not isinstance(baseline, (int, float)) or not baseline > 0:
        raise UsageError(f"synthetic baseline: expected a positive number of metres, got {baseline!r}")
    return float(baseline)


def render_stereo_frame(
    seed: int, index: int, height: int, width: int, split: str = "train", baseline: float = DEFAULT_BASELINE
) -> StereoFrame:
    """Stereo frame ``index`` of ``split``: a random left camera and its partner ``baseline`` m to its right."""
    b = _check_baseline(baseline)
    scene, (cam_l, cam_r), (rays_l, rays_r) = _random_views(seed, split, index, height, width, "stereo", b)
    return stereo_frame(shade_cast(scene, cam_l, rays_l), shade_cast(scene, cam_r, rays_r), cam_l.fx, b)


def render_frames(
    kind: str, seed: int, split: str, start: int, stop: int, height: int, width: int,
    baseline: float = DEFAULT_BASELINE, ranges: CameraRanges = CameraRanges(),
) -> dict[str, np.ndarray]:
    """Frames ``start .. stop - 1`` of ``kind`` ("mono" or "stereo"), stacked by schema field name."""
    if kind not in ("mono", "stereo"):
        raise UsageError(f"synthetic chunk kind: expected 'mono' or 'stereo', got {kind!r}")
    out = empty_arrays(kind, stop - start, height, width)
    for j, i in enumerate(range(start, stop)):
        if kind == "mono":
            f = render_frame(seed, i, height, width, split, ranges.fov_deg, ranges.height_m, ranges.pitch_deg)
        else:
            f = render_stereo_frame(seed, i, height, width, split, baseline)
        for name, value in f.arrays().items():
            out[name][j] = value
    return out


def _trajectory_poses(rng: np.random.Generator, scene: Scene, count: int, fps: float,
                      camera: Optional[CameraRanges] = None) -> np.ndarray:
    """A smooth hand-held path: sinusoids in position and yaw, small pitch and roll wobble. With
    ``camera``, its height and pitch ranges set the path's mean height and pitch."""
    corners = room_corners(scene)
    lo, hi = corners.min(0), corners.max(0)
    centre = (lo + hi) / 2
    span = (hi - lo) / 2 - CLEARANCE - 0.05
    amp = np.array([span[0] * rng.uniform(0.3, 0.9), 0.08, span[2] * rng.uniform(0.3, 0.9)])
    # Angular rates keep the camera under ~1 m/s, i.e. a walking phone at ``fps`` frames a second.
    omega = rng.uniform(0.15, 0.4, 3) / max(1.0, float(np.abs(amp).max()))
    phase = rng.uniform(0, 2 * math.pi, 3)
    top = hi[1] - CLEARANCE - 0.1
    y0 = rng.uniform(*(np.minimum(camera.height_m, top) if camera is not None else (1.0, min(1.6, top))))
    yaw0, yaw_amp, yaw_rate = rng.uniform(0, 2 * math.pi), rng.uniform(0.2, 0.8), rng.uniform(-0.25, 0.25)
    yaw_omega, yaw_phase = rng.uniform(0.2, 0.6), rng.uniform(0, 2 * math.pi)
    pitch0, roll0 = rng.normal(0, math.radians(5)), rng.normal(0, math.radians(2))
    if camera is not None and camera.pitch_deg is not None:
        pitch0 = -math.radians(float(rng.uniform(*camera.pitch_deg)))  # look_pose: positive looks down
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
    seed: int, count: int, height: int, width: int, split: str = "train", index: int = 0, fps: float = 10.0,
    camera: Optional[CameraRanges] = None,
) -> Frame:
    """``count`` frames of one scene along a smooth camera path (sequence ``index`` of ``split``),
    as a ``Frame`` whose fields have a leading frame axis. ``camera`` (a config's synthetic camera:
    fov, height, pitch) replaces the default random camera, e.g. to render the camera a model was
    trained for.

    Consecutive frames are ``1 / fps`` seconds apart on a path moving under about 1 m/s, so relative
    motion between neighbours is a few centimetres and degrees, as for a hand-held phone.
    """
    check_int("count", count, 1)
    check_int("height", height, 1)
    check_int("width", width, 1)
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
        raise UsageError(f"synthetic fps: expected a positive number, got {fps!r}")
    rng = frame_rng(seed, split, index, "sequence")
    for _ in range(20):
        scene = random_scene(rng)
        fov = camera.fov_deg if camera is not None else FOV_RANGE_DEG
        fx, fy, cx, cy = intrinsics_for_fov(height, width, float(rng.uniform(*fov)))
        for _ in range(10):
            poses = _trajectory_poses(rng, scene, count, float(fps), camera)
            # Objects in the camera's way are dropped rather than the path bent round them.
            keep = tuple(
                p for p in scene.primitives
                if isinstance(p, Plane) or min(signed_distance(p, pose[:3, 3]) for pose in poses) >= CLEARANCE
            )
            path_scene = Scene(keep, scene.light)
            if not all(pose_ok(path_scene, pose, CLEARANCE, MAX_DEPTH) for pose in poses):
                continue
            out = empty_arrays("sequence", count, height, width)
            for i, pose in enumerate(poses):
                f = render(path_scene, Camera(height, width, fx, fy, cx, cy, pose))
                for name, value in f.arrays().items():
                    out[name][i] = value
            if depth_in_range(out["depth"], MIN_DEPTH, MAX_DEPTH):
                return Frame(**out)
    raise RuntimeError(f"synthetic trajectory {split}/{index} (seed {seed}): no valid path in 200 tries")
