"""DeMoN's targets for an image pair (Ummenhofer et al., CVPR 2017, Sec. 3), from depth, intrinsics and
camera-to-world poses.

The relative pose is ``T_rel = inv(T1) @ T2`` for camera-to-world poses T1, T2: the pose of camera 2 in
camera 1's frame (it maps camera-2 coordinates to camera-1 coordinates; its translation is camera 2's
centre seen from camera 1). ``keras_depth.data.synthetic.synthetic_sequence``'s docstring
describes the inverse map ``inv(T2) @ T1`` (the motion of points); the two differ by inversion only.
As in DeMoN, the translation is normalised to unit length and the depth of image 1 is expressed in the
same unit: the target inverse depth is ``xi = |t| / depth``. Surface normals come from the depth and
intrinsics (back-projected points, cross product of their image-space derivatives).

Pixel convention (``keras_depth.geometry``): intrinsics put pixel ``(i, j)``'s centre at
``(j + 0.5, i + 0.5)``, so a centred principal point is ``cx = W / 2``.
"""
from __future__ import annotations

import numpy as np

from keras_depth.geometry import pixel_centers


def relative_pose(pose1: np.ndarray, pose2: np.ndarray) -> np.ndarray:
    """``inv(T1) @ T2``: camera 2's pose in camera 1's frame (4x4, from camera-to-world poses)."""
    return np.linalg.inv(pose1.astype(np.float64)) @ pose2.astype(np.float64)


def rotation_to_axis_angle(r: np.ndarray) -> np.ndarray:
    """Axis-angle vector (unit axis x angle in radians) of a rotation matrix, for angles below pi."""
    r = np.asarray(r, np.float64)
    cos = np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0)
    angle = np.arccos(cos)
    vee = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]]) / 2.0  # sin(angle) * axis
    s = np.sin(angle)
    return vee * (angle / s if s > 1e-8 else 1.0)


def normals_from_depth(depth: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Unit normals [H, W, 3] in camera coordinates (x right, y down, z forward), facing the camera,
    from depth [H, W] (z-depth) and intrinsics (fx, fy, cx, cy; pixel centres at ``+0.5``); central
    differences, one-sided at edges."""
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    h, w = depth.shape
    u, v = pixel_centers(h, w)
    z = depth.astype(np.float64)
    p = np.stack([(u - cx) / fx * z, (v - cy) / fy * z, z], axis=-1)
    dpdv, dpdu = np.gradient(p, axis=(0, 1))
    n = np.cross(dpdu, dpdv)
    n *= np.where(np.sum(n * p, axis=-1, keepdims=True) > 0, -1.0, 1.0)  # face the camera
    return (n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def pair_targets(depth1: np.ndarray, intrinsics1: np.ndarray, pose1: np.ndarray, pose2: np.ndarray) -> dict[str, np.ndarray]:
    """DeMoN's targets for image 1 of a pair: scale-normalised inverse depth, normals, motion (6)."""
    t_rel = relative_pose(pose1, pose2)
    t = t_rel[:3, 3]
    scale = float(np.linalg.norm(t))
    if scale < 1e-9:
        raise ValueError("pair_targets: the two cameras coincide (zero translation); DeMoN's normalisation needs a baseline")
    motion = np.concatenate([rotation_to_axis_angle(t_rel[:3, :3]), t / scale]).astype(np.float32)
    xi = (scale / np.maximum(depth1, 1e-6)).astype(np.float32)[..., None]
    return {"depth": xi, "normals": normals_from_depth(depth1, intrinsics1), "motion": motion}


def sequence_pairs(images: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, poses: np.ndarray, step: int = 1):
    """(inputs, targets) numpy dicts for the pairs (i, i + step) of one or more sequences [N, T, ...]."""
    xs1, xs2, ys = [], [], []
    for s in range(images.shape[0]):
        for i in range(images.shape[1] - step):
            xs1.append(images[s, i])
            xs2.append(images[s, i + step])
            ys.append(pair_targets(depth[s, i, ..., 0] if depth.ndim == 5 else depth[s, i], intrinsics[s, i], poses[s, i], poses[s, i + step]))
    x = {"image1": np.stack(xs1).astype(np.float32) / 255.0, "image2": np.stack(xs2).astype(np.float32) / 255.0}
    y = {k: np.stack([t[k] for t in ys]) for k in ("depth", "normals", "motion")}
    return x, y
