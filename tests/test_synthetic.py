"""The synthetic ray-caster against closed-form geometry, and its cached tf.data datasets."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_depth import spec
from keras_depth.data import registry, synthetic
from keras_depth.data.synthetic import Camera, Light, Material, Plane, Scene, Sphere, cache, frames
from keras_depth.data.synthetic.renderer import stereo_frame
from keras_depth.errors import UsageError

H = W = 32


def _facing_wall_scene(z0: float, *objects) -> Scene:
    """A room whose far wall is the plane z = -z0, so a camera at the origin looking down -z faces it.
    The side walls are far enough that no grazing ray of the tests reaches them first."""
    wall = Material("checker", (0.9, 0.8, 0.3), (0.1, 0.2, 0.6), scale=0.1, offset=(0.013, 0.027, 0.0))
    grey = Material("noise", scale=0.3)
    planes = synthetic.room_planes((-500.0, -500.0, -z0), (500.0, 500.0, 500.0), grey, grey, [grey, grey, wall, grey])
    # The light sits on the axis so the whole wall is lit, and shadows stay out of the way.
    return Scene(planes + tuple(objects), Light((0.0, 0.0, 0.0), shadows=False))


def _axis_camera(fx: float = 30.0, height: int = H, width: int = W) -> Camera:
    # Principal point on a pixel centre (j + 0.5), so pixel (H // 2, W // 2) looks exactly down the optical axis.
    return Camera(height, width, fx, fx, width // 2 + 0.5, height // 2 + 0.5, synthetic.look_pose((0, 0, 0), yaw=0.0))


# ---------------------------------------------------------------- analytic geometry


@pytest.mark.parametrize("z0", [0.7, 2.5, 9.0])
def test_fronto_parallel_wall_has_constant_z_depth(z0):
    depth = synthetic.render(_facing_wall_scene(z0), _axis_camera()).depth
    # z-depth, not ray length: the corners' rays are longer than z0 but their depth is not.
    np.testing.assert_allclose(depth, z0, rtol=1e-4)


def test_tilted_camera_depth_matches_plane_equation():
    # A camera yawed by a about a wall at distance z0: a pixel with normalised coordinate x sees the
    # wall at z = z0 / (cos a + x sin a) in its own frame (hand derivation, pinhole + plane).
    z0, a, fx = 3.0, math.radians(20), 30.0
    cx = W // 2 + 0.5
    cam = Camera(H, W, fx, fx, cx, H // 2 + 0.5, synthetic.look_pose((0, 0, 0), yaw=a))
    depth = synthetic.render(_facing_wall_scene(z0), cam).depth
    x = (np.arange(W) + 0.5 - cx) / fx  # pixel centres at j + 0.5 (keras_depth.geometry)
    # yaw a turns the forward axis to (-sin a, 0, -cos a) and the right axis to (cos a, 0, -sin a).
    expected = z0 / (math.cos(a) + x * math.sin(a))
    np.testing.assert_allclose(depth, np.broadcast_to(expected, (H, W)), rtol=1e-4)


@settings(max_examples=25, deadline=None)
@given(
    z0=st.floats(0.3, 9.5),
    yaw=st.floats(-0.4, 0.4),
    fx=st.floats(8.0, 40.0),
    cx=st.floats(2.0, 14.0),
)
def test_any_camera_facing_a_wall_sees_the_plane_equation(z0, yaw, fx, cx):
    # Property: for any focal length, principal point and yaw, each pixel's z-depth is the plane's
    # distance along its ray divided back onto the optical axis: z0 / (cos a + x sin a).
    cam = Camera(12, 16, fx, fx, cx, 6.0, synthetic.look_pose((0, 0, 0), yaw=yaw))
    depth = synthetic.render(_facing_wall_scene(z0), cam).depth
    x = (np.arange(16) + 0.5 - cx) / fx
    expected = z0 / (np.cos(yaw) + x * np.sin(yaw))
    np.testing.assert_allclose(depth, np.broadcast_to(expected, depth.shape), rtol=1e-4)
    assert np.isfinite(depth).all() and (depth > 0).all()


def test_sphere_on_axis_centre_depth_is_distance_minus_radius():
    d, r = 3.0, 0.5
    scene = _facing_wall_scene(8.0, Sphere((0.0, 0.0, -d), r, Material("stripes")))
    frame = synthetic.render(scene, _axis_camera())
    image, depth = frame.image, frame.depth
    assert depth[H // 2, W // 2] == pytest.approx(d - r, rel=1e-4)
    # Rim: the sphere's angular radius is asin(r / d); pixels well outside it see the wall.
    assert depth[H // 2, 0] == pytest.approx(8.0, rel=1e-4)
    assert image.dtype == np.uint8 and image.shape == (H, W, 3)


def test_cylinder_and_box_front_faces():
    from keras_depth.data.synthetic import Box, Cylinder

    cyl = Cylinder((0.0, -1.0, -4.0), radius=0.5, height=2.0)
    depth = synthetic.render(_facing_wall_scene(8.0, cyl), _axis_camera()).depth
    assert depth[H // 2, W // 2] == pytest.approx(3.5, rel=1e-4)
    box = Box((0.0, 0.0, -2.0), (1.0, 1.0, 1.0), yaw=0.0)
    depth = synthetic.render(_facing_wall_scene(8.0, box), _axis_camera()).depth
    assert depth[H // 2, W // 2] == pytest.approx(1.5, rel=1e-4)
    # A box turned 45 degrees shows its vertical edge, at distance 2 - half the diagonal.
    box45 = Box((0.0, 0.0, -2.0), (1.0, 1.0, 1.0), yaw=math.pi / 4)
    depth = synthetic.render(_facing_wall_scene(8.0, box45), _axis_camera()).depth
    assert depth[H // 2, W // 2] == pytest.approx(2 - math.sqrt(0.5), rel=1e-4)


def test_stereo_disparity_and_warp_on_textured_wall():
    # fx * B / Z = 32 * 0.25 / 2 = 4 px exactly, so right pixel x - 4 sees left pixel x's point.
    z0, fx, baseline = 2.0, 32.0, 0.25
    scene, cam = _facing_wall_scene(z0), _axis_camera(fx, 24, 48)
    pair = stereo_frame(synthetic.render(scene, cam), synthetic.render(scene, cam.translated((baseline, 0.0, 0.0))), fx, baseline)
    for disp, depth in ((pair.disparity, pair.depth), (pair.disparity_right, pair.depth_right)):
        np.testing.assert_allclose(disp, fx * baseline / depth, rtol=1e-5)
    np.testing.assert_allclose(pair.disparity, 4.0, rtol=1e-4)
    left, right = pair.image.astype(int), pair.image_right.astype(int)
    assert left.std() > 20, "the wall must be textured for the warp check to mean anything"
    np.testing.assert_array_less(np.abs(left[:, 4:] - right[:, :-4]), 2)
    assert np.abs(left[:, :-4] - right[:, :-4]).mean() > 5  # and unwarped views do differ


def test_stereo_random_frame_disparity_is_fx_b_over_z():
    f = synthetic.render_stereo_frame(3, 0, H, W, "val", baseline=0.1)
    fx = f.intrinsics[0]
    np.testing.assert_allclose(f.disparity, fx * 0.1 / f.depth, rtol=1e-5)
    np.testing.assert_allclose(f.disparity_right, fx * 0.1 / f.depth_right, rtol=1e-5)


# ---------------------------------------------------------------- random frames


def test_frames_are_deterministic_per_seed_and_index():
    a = synthetic.render_frame(7, 3, H, W)
    synthetic.render_frame(7, 0, H, W)  # rendering another frame in between changes nothing
    b = synthetic.render_frame(7, 3, H, W)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.depth, b.depth)
    np.testing.assert_array_equal(a.pose, b.pose)
    c = synthetic.render_frame(8, 3, H, W)
    assert not np.array_equal(a.depth, c.depth)


def test_splits_draw_disjoint_scenes():
    frames = {s: [synthetic.render_frame(0, i, 16, 16, s) for i in range(3)] for s in synthetic.SPLITS}
    poses = [f.pose.tobytes() for fs in frames.values() for f in fs]
    assert len(set(poses)) == len(poses)


def test_random_frames_are_dense_and_in_range():
    for i in range(4):
        f = synthetic.render_frame(1, i, H, W)
        assert f.depth.dtype == np.float32 and f.depth.shape == (H, W)
        assert synthetic.MIN_DEPTH <= f.depth.min() and f.depth.max() <= synthetic.MAX_DEPTH
        assert f.image.std() > 1  # lit and textured, not blank
        np.testing.assert_allclose(np.linalg.det(f.pose[:3, :3]), 1.0, atol=1e-6)
        # The principal point is the image centre W / 2 (pixel centres at j + 0.5), jittered by 2 %.
        assert abs(f.intrinsics[2] - W / 2) <= 0.02 * W + 1e-4 and abs(f.intrinsics[3] - H / 2) <= 0.02 * H + 1e-4


def test_many_tiny_frames_all_find_a_valid_view():
    # Cluttered rooms must lead to a re-draw, never an exception or an out-of-range depth.
    for i in range(60):
        depth = synthetic.render_frame(2, i, 8, 8, "test").depth
        assert synthetic.MIN_DEPTH <= depth.min() and depth.max() <= synthetic.MAX_DEPTH


def test_trajectory_is_smooth_and_consistent():
    tr = synthetic.render_trajectory(seed=0, count=6, height=16, width=16)
    assert tr.image.shape == (6, 16, 16, 3) and tr.depth.shape == (6, 16, 16)
    assert tr.pose.shape == (6, 4, 4) and tr.intrinsics.shape == (6, 4)
    steps = np.linalg.norm(np.diff(tr.pose[:, :3, 3], axis=0), axis=1)
    assert 0 < steps.max() < 0.2  # metres per frame: hand-held, no jumps
    # Constant-ish speed: the smallest step is not tiny next to the largest (a smooth path).
    assert steps.min() > 0.2 * steps.max()
    assert synthetic.MIN_DEPTH <= tr.depth.min() and tr.depth.max() <= synthetic.MAX_DEPTH
    again = synthetic.render_trajectory(seed=0, count=6, height=16, width=16)
    np.testing.assert_array_equal(tr.image, again.image)


def test_trajectory_with_the_training_camera():
    from keras_depth.data.synthetic.sampling import CameraRanges

    # The quickstart's camera: 60 deg hfov, 1.3-1.5 m high, pitched 10-30 deg down.
    cam = CameraRanges.of_entries([{"type": "synthetic", "fov_deg": [60, 60], "camera_height": [1.3, 1.5],
                                    "pitch_deg": [-30, -10]}])
    assert cam == CameraRanges((60.0, 60.0), (1.3, 1.5), (-30.0, -10.0))
    assert CameraRanges.of_entries([{"type": "synthetic"}, {"type": "nyu_fastdepth_sample"}]) is None
    for index in range(3):
        tr = synthetic.render_trajectory(seed=0, count=5, height=16, width=16, index=index, camera=cam)
        fx = tr.intrinsics[0, 0]
        assert np.degrees(2 * np.arctan(16 / (2 * fx))) == pytest.approx(60.0)
        ys = tr.pose[:, 1, 3]
        assert 1.3 - 0.09 <= ys.min() and ys.max() <= 1.5 + 0.09  # +-8 cm bob of the hand-held path
        # The optical axis (third column of the rotation) points down by 10-30 deg, +-3 deg wobble
        # and a small roll: its world y component is -sin(pitch).
        down = np.degrees(np.arcsin(-tr.pose[:, 1, 2]))
        assert 10 - 4 <= down.min() and down.max() <= 30 + 4


def test_bad_arguments_name_the_argument():
    with pytest.raises(UsageError, match="split.*'tran'"):
        synthetic.render_frame(0, 0, H, W, split="tran")
    with pytest.raises(UsageError, match="seed.*-1"):
        synthetic.render_frame(-1, 0, H, W)
    with pytest.raises(UsageError, match="count.*0"):
        synthetic.build_cache("unused", "train", 0, H, W, 0)
    with pytest.raises(UsageError, match="baseline"):
        synthetic.render_stereo_frame(0, 0, H, W, baseline=0.0)


# ---------------------------------------------------------------- cache and tf.data


def test_build_cache_writes_expected_files_and_is_reused(tmp_path, monkeypatch):
    path = synthetic.build_cache(tmp_path, "val", 3, H, W, seed=5, progress=False)
    images = np.load(path / "image.npy", mmap_mode="r")
    assert images.dtype == np.uint8 and images.shape == (3, H, W, 3)
    assert np.load(path / "depth.npy").shape == (3, H, W)
    assert np.load(path / "intrinsics.npy").dtype == np.float32
    assert np.load(path / "pose.npy").shape == (3, 4, 4)
    f1 = synthetic.render_frame(5, 1, H, W, "val")
    np.testing.assert_array_equal(images[1], f1.image)

    def boom(*args, **kwargs):
        raise AssertionError("rendered again instead of reusing the cache")

    monkeypatch.setattr(frames, "render_frame", boom)
    assert synthetic.build_cache(tmp_path, "val", 3, H, W, seed=5, progress=False) == path
    monkeypatch.undo()
    other = synthetic.build_cache(tmp_path, "val", 3, H, W, seed=6, progress=False)
    assert other != path and other.is_dir()
    # Only finished folders are left behind: no temporary siblings.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, other.name])


def test_worker_pool_renders_the_same_frames_as_one_process(tmp_path):
    # 64 frames is where build_cache starts a pool; 8x8 keeps it to a few seconds, mostly start-up.
    path = synthetic.build_cache(tmp_path, "test", 64, 8, 8, seed=1, workers=2, progress=False)
    depth = np.load(path / "depth.npy", mmap_mode="r")
    for i in (0, 17, 63):
        np.testing.assert_array_equal(depth[i], synthetic.render_frame(1, i, 8, 8, "test").depth)


def test_worker_pool_errors_name_the_failure(tmp_path):
    # A worker that cannot write its arrays (here: no .npy files in the folder) fails in one line.
    from keras_depth.errors import DataError

    bar = cache.Progress("x", 16, False)
    tasks = [cache.ChunkTask("mono", 0, "train", 0, 2, 8, 8, 0.0, [50.0, 75.0], [0.8, 1.8])]
    with pytest.raises(DataError, match=r"render worker failed: FileNotFoundError.*\.npy"):
        cache.render_in_workers(tmp_path, tasks, 1, bar)


def test_a_script_without_main_guard_builds_a_pooled_cache(tmp_path):
    # A spawn pool would re-import this unguarded script in every child and start pools recursively.
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "from keras_depth.data.synthetic import build_cache\n"
        f"print(build_cache({str(tmp_path / 'cache')!r}, 'train', 64, 8, 8, 3, workers=2, progress=False))\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    path = Path(out.stdout.strip().splitlines()[-1])
    np.testing.assert_array_equal(np.load(path / "depth.npy")[40], synthetic.render_frame(3, 40, 8, 8).depth)


def test_camera_ranges_bound_fov_and_height():
    fov, height, pitch = (58.0, 62.0), (1.3, 1.5), (-30.0, -10.0)
    for i in range(6):
        f = synthetic.render_frame(4, i, 24, 24, "train", fov_deg=fov, height_m=height, pitch_deg=pitch)
        hfov = 2 * math.degrees(math.atan((24 / 2) / f.intrinsics[0]))
        assert fov[0] - 1e-3 <= hfov <= fov[1] + 1e-3
        assert height[0] - 1e-6 <= f.pose[1, 3] <= height[1] + 1e-6  # the floor is the plane y = 0
        # The optical axis (pose column 2) rises by sin(pitch); roll turns about it and leaves it.
        assert pitch[0] - 1e-6 <= math.degrees(math.asin(f.pose[1, 2])) <= pitch[1] + 1e-6
    # The default ranges give the frames they always gave (caches of earlier runs stay valid).
    np.testing.assert_array_equal(
        synthetic.render_frame(4, 1, 16, 16).depth,
        synthetic.render_frame(4, 1, 16, 16, fov_deg=synthetic.FOV_RANGE_DEG, height_m=synthetic.CAMERA_HEIGHT_RANGE_M).depth,
    )
    for bad in ([10, 60], [60, 50], [55], "wide", [55, 200]):
        with pytest.raises(UsageError, match="fov_deg"):
            synthetic.render_frame(0, 0, 8, 8, fov_deg=bad)
    with pytest.raises(UsageError, match="camera_height"):
        synthetic.render_frame(0, 0, 8, 8, height_m=[0.1, 1.0])
    with pytest.raises(UsageError, match="pitch_deg"):
        synthetic.render_frame(0, 0, 8, 8, pitch_deg=[-90, 0])


def test_camera_ranges_key_the_cache(tmp_path):
    default = synthetic.build_cache(tmp_path, "val", 2, 8, 8, 0, progress=False)
    narrow = synthetic.build_cache(tmp_path, "val", 2, 8, 8, 0, progress=False, fov_deg=[58, 62], camera_height=[1.3, 1.5])
    down = synthetic.build_cache(
        tmp_path, "val", 2, 8, 8, 0, progress=False, fov_deg=[58, 62], camera_height=[1.3, 1.5], pitch_deg=[-30, -10]
    )
    assert len({default, narrow, down}) == 3
    assert synthetic.load_cache(narrow)[1]["camera_height_m"] == [1.3, 1.5]
    assert synthetic.load_cache(down)[1]["pitch_deg"] == [-30, -10]
    with pytest.raises(UsageError, match="mono"):
        synthetic.build_cache(tmp_path, "val", 2, 8, 8, 0, kind="stereo", fov_deg=[58, 62])


def _check_sample(x: dict, h: int, w: int) -> None:
    x = {k: np.asarray(v) for k, v in x.items()}
    assert x["image"].dtype == np.uint8 and x["image"].shape == (h, w, 3)
    assert x["depth"].dtype == np.float32 and x["depth"].shape == (h, w, 1)
    assert 0.25 <= x["depth"].min() and x["depth"].max() <= 10.0
    assert x["mask"].dtype == np.float32 and (x["mask"] == 1).all()
    assert x["semantics"].dtype == np.int32 and x["semantics"] == spec.METRIC
    assert x["intrinsics"].dtype == np.float32 and (x["intrinsics"] > 0).all()


def test_dataset_eager_and_inside_tf_data(tmp_path):
    ds = registry.build_dataset(
        {"type": "synthetic", "split": "train", "count": 3, "height": H, "width": 24}, cache_dir=str(tmp_path)
    )
    assert ds.element_spec["image"].shape == (H, 24, 3)  # static shapes for the model
    for x in ds:  # eager
        _check_sample(x, H, 24)

    @tf.function
    def first_depth_mean(d):
        return d.take(1).reduce(0.0, lambda acc, x: acc + tf.reduce_mean(x["depth"]))

    assert 0.25 < float(first_depth_mean(ds)) < 10.0
    mapped = ds.map(lambda x: {**x, "depth": x["depth"] * x["mask"]}).batch(2)  # graph mode
    batch = next(iter(mapped))
    assert batch["depth"].shape == (2, H, 24, 1)
    for x in mapped.unbatch():
        _check_sample(x, H, 24)


def test_stereo_dataset(tmp_path):
    ds = registry.build_dataset(
        {"type": "synthetic_stereo", "count": 2, "height": 16, "width": 24, "baseline": 0.1}, cache_dir=str(tmp_path)
    )
    for x in ds.map(lambda x: x):
        x = {k: np.asarray(v) for k, v in x.items()}
        assert x["left"].dtype == np.uint8 and x["right"].shape == (16, 24, 3)
        assert x["disparity_left"].shape == (16, 24, 1) and x["baseline"] == np.float32(0.1)
        np.testing.assert_allclose(x["disparity_left"], x["intrinsics"][0] * 0.1 / x["depth"], rtol=1e-5)
        assert (x["mask"] == 1).all() and x["semantics"] == spec.METRIC


def test_sequence_dataset_poses_are_relative_motion(tmp_path):
    ds = synthetic.synthetic_sequence(count=4, sequence_length=2, height=16, width=16, cache_dir=tmp_path)
    seqs = list(ds)
    assert len(seqs) == 2 and seqs[0]["image"].shape == (2, 16, 16, 3)
    poses = seqs[0]["poses"].numpy()
    rel = np.linalg.inv(poses[1]) @ poses[0]
    assert np.linalg.norm(rel[:3, 3]) < 0.2
