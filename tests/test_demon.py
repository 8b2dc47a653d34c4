"""The two-image DeMoN variant: geometry of its targets, its outputs, and a tiny training run."""
from __future__ import annotations

import numpy as np
import pytest

from keras_depth.training.demon_training import (
    DemonConfig,
    axis_angle_to_rotation,
    normals_from_depth,
    pair_targets,
    relative_pose,
    rotation_to_axis_angle,
    run_demon_training,
)


def _pose(r: np.ndarray, t) -> np.ndarray:
    p = np.eye(4)
    p[:3, :3], p[:3, 3] = r, t
    return p


def test_relative_pose_is_camera2_in_camera1_frame():
    # Camera 1 at x=1 looking down +z; camera 2 at x=1.2: camera 2 sits at +0.2 x in camera 1's frame.
    p1, p2 = _pose(np.eye(3), [1, 0, 0]), _pose(np.eye(3), [1.2, 0, 0])
    np.testing.assert_allclose(relative_pose(p1, p2)[:3, 3], [0.2, 0, 0], atol=1e-12)
    # Camera 1 yawed 90 degrees (its x axis is world -z... any rotation): the world offset seen in cam 1.
    r1 = axis_angle_to_rotation([0, np.pi / 2, 0])
    p1 = _pose(r1, [0, 0, 0])
    p2 = _pose(r1, r1 @ np.array([0.0, 0.0, 0.5]))  # 0.5 m along camera 1's optical axis
    np.testing.assert_allclose(relative_pose(p1, p2)[:3, 3], [0, 0, 0.5], atol=1e-12)


@pytest.mark.parametrize("v", [[0.0, 0.0, 0.0], [0.01, -0.02, 0.005], [0.3, 1.0, -0.5], [0, 2.5, 0]])
def test_axis_angle_round_trip(v):
    np.testing.assert_allclose(rotation_to_axis_angle(axis_angle_to_rotation(v)), v, atol=1e-9)


def test_normals_of_planes():
    h, w, intr = 24, 32, np.array([30.0, 30.0, 16.0, 12.0])
    n = normals_from_depth(np.full((h, w), 2.0), intr)
    np.testing.assert_allclose(n, np.broadcast_to([0, 0, -1], n.shape), atol=1e-6)
    # Floor-like plane y = 1 (below the camera, y down): z-depth = fy * 1 / (v - cy) for rows below cy.
    v = np.arange(h) + 0.5
    z = np.where(v > 12.5, 30.0 / np.maximum(v - 12.0, 1e-3), 1.0)[:, None].repeat(w, 1)
    n = normals_from_depth(z, intr)
    np.testing.assert_allclose(n[16:22, 4:28], np.broadcast_to([0, -1, 0], (6, 24, 3)), atol=1e-5)


def test_pair_targets_normalise_translation_and_scale_depth():
    p1, p2 = _pose(np.eye(3), [0, 0, 0]), _pose(axis_angle_to_rotation([0, 0.02, 0]), [0.05, 0, 0])
    t = pair_targets(np.full((4, 4), 2.0), np.array([4.0, 4.0, 2.0, 2.0]), p1, p2)
    np.testing.assert_allclose(t["motion"], [0, 0.02, 0, 1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(t["depth"], 0.05 / 2.0, rtol=1e-6)  # |t| / depth
    assert t["normals"].shape == (4, 4, 3)


def test_demon_pair_outputs():
    from keras_depth.models import build_model

    m = build_model("demon_pair", (64, 64, 3))
    x = np.random.default_rng(0).random((2, 64, 64, 3), dtype=np.float32)
    y = m.predict({"image1": x, "image2": x[::-1]}, verbose=0)
    assert y["depth"].shape == (2, 64, 64, 1) and y["normals"].shape == (2, 64, 64, 3) and y["motion"].shape == (2, 6)
    np.testing.assert_allclose(np.linalg.norm(y["normals"], axis=-1), 1.0, atol=1e-4)


def test_demon_local_training_loss_falls(tmp_path):
    cfg = DemonConfig.from_yaml(
        "configs/demon_local.yaml",
        {"output_dir": str(tmp_path / "run"), "cache_dir": str(tmp_path / "cache"), "image_size": [32, 32],
         "train_count": 24, "epochs": 4},
    )
    _, history = run_demon_training(cfg)
    loss = history["loss"]
    print("demon_local loss per epoch:", [round(v, 4) for v in loss])
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]
    assert (tmp_path / "run" / "history.json").is_file()
