"""Training the two-image ``demon_pair`` model on the synthetic generator's camera trajectories.

Data: consecutive frames (i, i+1) of ``synthetic_sequence`` trajectories. The relative pose is
``T_rel = inv(T1) @ T2`` for camera-to-world poses T1, T2: the pose of camera 2 in camera 1's frame
(it maps camera-2 coordinates to camera-1 coordinates; its translation is camera 2's centre seen from
camera 1). Note that ``synthetic_sequence``'s docstring describes the inverse map ``inv(T2) @ T1``
(the motion of points); the two differ by inversion only. As in DeMoN (Ummenhofer et al. CVPR 2017,
Sec. 3), the translation is normalised to unit length and the depth of image 1 is expressed in the
same unit: the target inverse depth is ``xi = |t| / depth``. Surface normals come from the depth and
intrinsics (back-projected points, cross product of their image-space derivatives).

Losses (DeMoN Sec. 4): L1 on the scale-normalised inverse depth; the scale-invariant gradient loss
(``keras_depth.losses.scale_invariant_gradient_loss``, Eq. 3-4) on it; L2 distance of the normals; L2
of rotation (axis-angle) and of the unit translation. The loss weights are ours (``DemonLossWeights``).

Run: ``python -m keras_depth.training.demon_training configs/demon_local.yaml`` (about a minute).
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np
import tensorflow as tf
import yaml

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras
from keras_depth.losses.demon import scale_invariant_gradient_loss


# ----------------------------------------------------------------------------------------- geometry
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


def axis_angle_to_rotation(v: np.ndarray) -> np.ndarray:
    """Rodrigues' formula."""
    v = np.asarray(v, np.float64)
    angle = np.linalg.norm(v)
    if angle < 1e-12:
        return np.eye(3)
    k = v / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def normals_from_depth(depth: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Unit normals [H, W, 3] in camera coordinates (x right, y down, z forward), facing the camera,
    from depth [H, W] (z-depth) and intrinsics (fx, fy, cx, cy); central differences, one-sided at edges."""
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    h, w = depth.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float64) + 0.5, np.arange(h, dtype=np.float64) + 0.5)
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


def demon_pair_dataset(split: str, count: int, sequence_length: int, height: int, width: int, seed: int,
                       cache_dir: str, batch_size: int, step: int = 1, shuffle: bool = True) -> tf.data.Dataset:
    """Pairs of consecutive frames of cached synthetic trajectories, batched, ready for ``model.fit``."""
    from keras_depth.data.synthetic_dataset import synthetic_sequence

    seqs = list(synthetic_sequence(split, count, sequence_length, height, width, seed, cache_dir).as_numpy_iterator())
    if not seqs:
        raise UsageError(f"demon data: no sequence in {split} (count {count} < sequence_length {sequence_length}?)")
    stack = lambda k: np.stack([s[k] for s in seqs])  # noqa: E731
    x, y = sequence_pairs(stack("image"), stack("depth"), stack("intrinsics"), stack("poses"), step)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(y["motion"]), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size)


# ------------------------------------------------------------------------------------------- losses
def inverse_depth_l1(xi_true: tf.Tensor, xi_pred: tf.Tensor) -> tf.Tensor:
    """DeMoN's depth loss: L1 on the (scale-normalised) inverse depth, mean over pixels."""
    return tf.reduce_mean(tf.abs(xi_pred - xi_true))


def normal_l2(n_true: tf.Tensor, n_pred: tf.Tensor) -> tf.Tensor:
    """DeMoN's normal loss: Euclidean distance of the normal vectors, mean over pixels."""
    return tf.reduce_mean(tf.sqrt(tf.reduce_sum(tf.square(n_pred - n_true), axis=-1) + 1e-12))


def motion_l2(m_true: tf.Tensor, m_pred: tf.Tensor, rotation_weight: float = 1.0, translation_weight: float = 1.0) -> tf.Tensor:
    """DeMoN's motion losses: ||r - r*||_2 and ||t - t*||_2 (t unit length), weighted, batch mean."""
    r = tf.norm(m_pred[:, :3] - m_true[:, :3] + 1e-12, axis=-1)
    t = tf.norm(m_pred[:, 3:] - m_true[:, 3:] + 1e-12, axis=-1)
    return tf.reduce_mean(rotation_weight * r + translation_weight * t)


@dataclasses.dataclass
class DemonLossWeights:
    depth: float = 1.0
    gradient: float = 1.0
    normals: float = 1.0
    rotation: float = 10.0  # rotations between neighbouring frames are a few hundredths of a radian
    translation: float = 1.0


@keras.saving.register_keras_serializable(package="keras_depth")
class DemonDepthLoss(keras.losses.Loss):
    """L1 on inverse depth + weight x scale-invariant gradient loss (both on xi)."""

    def __init__(self, gradient_weight: float = 1.0, name: str = "demon_depth", **kwargs):
        super().__init__(name=name, **kwargs)
        self.gradient_weight = float(gradient_weight)

    def call(self, y_true, y_pred):
        return inverse_depth_l1(y_true, y_pred) + self.gradient_weight * scale_invariant_gradient_loss(y_true, y_pred)

    def get_config(self) -> dict:
        return {**super().get_config(), "gradient_weight": self.gradient_weight}


@keras.saving.register_keras_serializable(package="keras_depth")
class DemonNormalLoss(keras.losses.Loss):
    def __init__(self, name: str = "demon_normals", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return normal_l2(y_true, y_pred)


@keras.saving.register_keras_serializable(package="keras_depth")
class DemonMotionLoss(keras.losses.Loss):
    def __init__(self, rotation_weight: float = 1.0, translation_weight: float = 1.0, name: str = "demon_motion", **kwargs):
        super().__init__(name=name, **kwargs)
        self.rotation_weight, self.translation_weight = float(rotation_weight), float(translation_weight)

    def call(self, y_true, y_pred):
        return motion_l2(y_true, y_pred, self.rotation_weight, self.translation_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), "rotation_weight": self.rotation_weight, "translation_weight": self.translation_weight}


def compile_demon(model: keras.Model, weights: DemonLossWeights, learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss={"depth": DemonDepthLoss(weights.gradient / max(weights.depth, 1e-12)), "normals": DemonNormalLoss(),
              "motion": DemonMotionLoss(weights.rotation, weights.translation)},
        loss_weights={"depth": weights.depth, "normals": weights.normals, "motion": 1.0},
    )


# ---------------------------------------------------------------------------------------------- run
@dataclasses.dataclass
class DemonConfig:
    """``configs/demon_local.yaml``: data, model, optimisation and loss weights of a DeMoN run."""

    output_dir: str = "runs/demon_local"
    cache_dir: str = "runs/cache"
    image_size: tuple = (64, 64)
    train_count: int = 48
    sequence_length: int = 8
    seed: int = 0
    batch_size: int = 8
    epochs: int = 5
    learning_rate: float = 2e-3
    model_params: dict = dataclasses.field(default_factory=dict)
    loss_weights: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Optional[dict] = None) -> "DemonConfig":
        p = Path(path)
        if not p.is_file():
            raise UsageError(f"demon config not found: {p}")
        data: dict[str, Any] = {**(yaml.safe_load(p.read_text()) or {}), **(overrides or {})}
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise UsageError(f"{p}: unknown key(s) {unknown}")
        if "image_size" in data:
            data["image_size"] = tuple(data["image_size"])
        return cls(**data)


def run_demon_training(cfg: DemonConfig, verbose: int = 0) -> tuple[keras.Model, dict]:
    """Build ``demon_pair``, train it with ``model.fit``; returns the model and the history."""
    from keras_depth.models import build_model

    keras.utils.set_random_seed(cfg.seed)
    h, w = cfg.image_size
    ds = demon_pair_dataset("train", cfg.train_count, cfg.sequence_length, h, w, cfg.seed, cfg.cache_dir, cfg.batch_size)
    model = build_model("demon_pair", (h, w, 3), **cfg.model_params)
    compile_demon(model, DemonLossWeights(**cfg.loss_weights), cfg.learning_rate)
    hist = model.fit(ds, epochs=cfg.epochs, verbose=verbose)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "history.json").write_text(json.dumps(history, indent=2))
    (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2))
    return model, history


if __name__ == "__main__":
    cfg = DemonConfig.from_yaml(sys.argv[1] if len(sys.argv) > 1 else "configs/demon_local.yaml")
    _, history = run_demon_training(cfg, verbose=2)
    print(json.dumps({k: [round(v, 4) for v in vals] for k, vals in history.items()}))
