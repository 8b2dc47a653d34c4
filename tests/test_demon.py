"""The two-image DeMoN variant: geometry of its targets, its outputs, and a tiny training run."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from keras_depth.training.demon_targets import normals_from_depth, pair_targets, relative_pose, rotation_to_axis_angle


def axis_angle_to_rotation(v) -> np.ndarray:
    """Rodrigues' formula, by OpenCV: an implementation independent of the one under test."""
    return cv2.Rodrigues(np.asarray(v, np.float64).reshape(3, 1))[0]


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


@pytest.mark.slow
def test_demon_local_training_loss_falls(tmp_path, capsys):
    """``keras-depth train demon_local``: the main Config, train() dispatching on train.mode, and the run
    saved like every other (its model loads back through load_trained_model)."""
    import json

    from keras_depth.cli import main
    from keras_depth.models.io import load_trained_model

    run = tmp_path / "run"
    rc = main(["train", "demon_local", "--output-dir", str(run), "--set", f"data.cache_dir={tmp_path / 'cache'}",
               "--set", "data.image_size=[32, 32]", "--set", "train.epochs=4",
               "--set", "data.train=[{type: synthetic_sequence, split: train, count: 24, sequence_length: 8}]"])
    assert rc == 0, capsys.readouterr().err
    loss = json.loads((run / "history.json").read_text())["loss"]
    print("demon_local loss per epoch:", [round(v, 4) for v in loss])
    assert len(loss) == 4 and np.all(np.isfinite(loss)) and loss[-1] < loss[0]
    for name in ("config.json", "model_meta.json", "model.keras"):
        assert (run / name).is_file(), name
    assert not list(run.glob(".*")) and not (run / "backup").exists()  # atomic writes, backup removed
    meta = json.loads((run / "model_meta.json").read_text())
    assert meta["model"]["name"] == "demon_pair" and meta["spec"]["kind"] == "disparity"
    assert json.loads((run / "config.json").read_text())["train"]["mode"] == "demon"
    model = load_trained_model(run / "model.keras")
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    y = model.predict({"image1": x, "image2": x[::-1]}, verbose=0)
    assert y["depth"].shape == (2, 32, 32, 1) and y["motion"].shape == (2, 6)
    np.testing.assert_allclose(np.linalg.norm(y["normals"], axis=-1), 1.0, atol=1e-4)


def test_demon_mode_rejects_other_data_and_models(tmp_path):
    from keras_depth.cli.common import resolve_config_path
    from keras_depth.config import load_config
    from keras_depth.errors import UsageError
    from keras_depth.training.trainer import train

    base = [f"output_dir={tmp_path / 'run'}", f"data.cache_dir={tmp_path / 'cache'}"]
    with pytest.raises(UsageError, match=r"data\.train\[0\]: train.mode demon reads"):
        train(load_config(resolve_config_path("demon_local"), base + ["data.train=[{type: synthetic, count: 8}]"]))
    with pytest.raises(UsageError, match=r"data\.train\[0\]: unknown option"):
        train(load_config(resolve_config_path("demon_local"), base + [
            "data.train=[{type: synthetic_sequence, count: 8, fov: 3}]"]))
    with pytest.raises(UsageError, match="model.spec.kind"):
        train(load_config(resolve_config_path("demon_local"), base + ["model.spec={kind: depth}"]))
    with pytest.raises(UsageError, match="unknown config key 'train.demon.bogus'"):
        load_config(resolve_config_path("demon_local"), ["train.demon.bogus=1"])
