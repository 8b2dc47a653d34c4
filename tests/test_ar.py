"""keras_depth.ar: rasterizer vs analytic geometry, .obj loading, occlusion (hand-made and against
true synthetic depth), alignment, the flicker metric and stabilisation, and the demo CLI end to end."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_depth.ar.composite import composite, visibility_mask
from keras_depth.ar.obj import ObjFormatError, load_obj
from keras_depth.ar.placement import Alignment, MetricPoint, disparity_to_depth, load_sparse_points
from keras_depth.ar.render import Mesh, Rendered, cube_mesh, render_mesh, rotation_y
from keras_depth.ar.temporal import FlickerMeter, TemporalSmoother, flicker, static_mask
from keras_depth.ar.video import natural_key, open_source, read_video_info
from keras_depth.errors import DataError, UsageError
from keras_depth.geometry import Intrinsics


def ray_box_depth(k: Intrinsics, width: int, height: int, center, rotation, half: float) -> np.ndarray:
    """z-depth where each pixel-centre ray enters the box (slab method), +inf where it misses."""
    x = (np.arange(width) + 0.5 - k.cx) / k.fx
    y = (np.arange(height) + 0.5 - k.cy) / k.fy
    d = np.stack(np.broadcast_arrays(x[None, :], y[:, None], np.ones((height, width))), -1)  # z component 1
    o = rotation.T @ (-np.asarray(center, np.float64))
    dl = d @ rotation  # rows: R^T d
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-half - o) / dl, (half - o) / dl
    tmin = np.max(np.minimum(t1, t2), axis=-1)
    tmax = np.min(np.maximum(t1, t2), axis=-1)
    return np.where((tmin <= tmax) & (tmin > 0), tmin, np.inf)


# --- rasterizer -------------------------------------------------------------------------------

def test_cube_face_on_front_depth_and_corners():
    k = Intrinsics(100.0, 110.0, 64.0, 48.0)
    size, z = 0.5, 3.0
    mesh = cube_mesh(size).transformed(translation=(0.1, -0.05, z))
    corners = mesh.vertices
    np.testing.assert_allclose(k.project(corners)[:, 0], 100.0 * corners[:, 0] / corners[:, 2] + 64.0)
    np.testing.assert_allclose(k.project(corners)[:, 1], 110.0 * corners[:, 1] / corners[:, 2] + 48.0)
    r = render_mesh(mesh, k, 128, 96)
    # Face-on, the silhouette is the front face: pixels whose centres fall inside its projection.
    front = corners[corners[:, 2] < z]
    uv = k.project(front)
    xs, ys = np.arange(128) + 0.5, np.arange(96) + 0.5
    inside = ((ys[:, None] > uv[:, 1].min()) & (ys[:, None] < uv[:, 1].max())
              & (xs[None, :] > uv[:, 0].min()) & (xs[None, :] < uv[:, 0].max()))
    np.testing.assert_array_equal(r.mask, inside)
    np.testing.assert_allclose(r.depth[r.mask], z - size / 2, rtol=1e-6)
    assert np.all(r.rgba[r.mask, 3] == 255) and np.all(r.rgba[~r.mask] == 0)


def test_yawed_cube_depth_is_perspective_correct():
    k = Intrinsics.from_hfov(160, 120, 65.0)
    rot = rotation_y(35.0)
    center = (0.2, 0.1, 2.5)
    r = render_mesh(cube_mesh(0.8).transformed(rotation=rot, translation=center), k, 160, 120)
    truth = ray_box_depth(k, 160, 120, center, rot, 0.4)
    both = r.mask & np.isfinite(truth)
    # Coverage agrees except possibly where a pixel centre lies on an edge.
    assert np.count_nonzero(r.mask != np.isfinite(truth)) <= 2
    assert both.sum() > 1000
    np.testing.assert_allclose(r.depth[both], truth[both], rtol=1e-5)
    shades = {tuple(c) for c in r.rgba[r.mask][:, :3]}
    assert len(shades) >= 2  # Lambert: visible faces differ


def test_intrinsics_from_hfov_matches_depth_core():
    k = Intrinsics.from_hfov(640, 480, 90.0)
    assert (k.fx, k.fy, k.cx, k.cy) == pytest.approx((320.0, 320.0, 320.0, 240.0))
    # OpenCV-style intrinsics (pixel centres at integers) shift by half a pixel.
    assert Intrinsics.from_centered_pixels(100, 100, 63.5, 47.5).cx == 64.0
    np.testing.assert_allclose(k.project(k.backproject(10, 20, 2.0)[None]), [[10.5, 20.5]])
    with pytest.raises(UsageError, match="FOV"):
        Intrinsics.from_hfov(640, 480, 180.0)


# --- .obj loader ------------------------------------------------------------------------------

def write_textured_quad(folder: Path) -> Path:
    import cv2

    tex = np.zeros((2, 2, 3), np.uint8)  # RGB; OBJ v=0 is the bottom row
    tex[0, 0], tex[0, 1], tex[1, 0], tex[1, 1] = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)
    cv2.imwrite(str(folder / "tex.png"), tex[..., ::-1])
    (folder / "quad.mtl").write_text("newmtl skin\nKd 1 1 1\nmap_Kd tex.png\n")
    (folder / "quad.obj").write_text(
        "# a unit quad facing +z\nmtllib quad.mtl\no quad\n"
        "v -1 -1 0\nv 1 -1 0\nv 1 1 0\nv -1 1 0\n"
        "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvn 0 0 1\n"
        "usemtl skin\nf 1/1/1 2/2/1 3/3/1 4/4/1\n"
    )
    return folder / "quad.obj"


def test_obj_quad_triangulated_and_textured(tmp_path):
    mesh = load_obj(write_textured_quad(tmp_path))
    assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3]]
    assert mesh.face_uvs.tolist() == [[0, 1, 2], [0, 2, 3]]
    assert mesh.face_normals.tolist() == [[0, 0, 0], [0, 0, 0]]
    assert mesh.materials[mesh.face_materials[0]].texture.shape == (2, 2, 3)
    # Shown to the camera as the demo does (OBJ y-up -> camera y-down): the texture's top row on top.
    from keras_depth.ar.demo import load_object

    placed = load_object(str(tmp_path / "quad.obj")).transformed(translation=(0, 0, 2.0))
    r = render_mesh(placed, Intrinsics(40, 40, 32, 32), 64, 64, ambient=1.0)
    assert r.mask.sum() > 300
    top_left, top_right = r.rgba[24, 24, :3], r.rgba[24, 40, :3]
    bottom_left, bottom_right = r.rgba[40, 24, :3], r.rgba[40, 40, :3]
    # Bilinear texture: each quadrant is dominated by its texel.
    assert top_left.argmax() == 0 and top_right.argmax() == 1 and bottom_left.argmax() == 2
    assert bottom_right[0] > 150 and bottom_right[1] > 150 and bottom_right[2] < 100


def test_obj_polygon_negative_indices_and_v_vn(tmp_path):
    p = tmp_path / "pent.obj"
    p.write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0.5 1.5 0\nv 0 1 0\nvn 0 0 1\nf -5//1 -4//1 -3//1 -2//1 -1//1\nl 1 2\n")
    mesh = load_obj(p)
    assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3], [0, 3, 4]]
    assert mesh.uvs is None and mesh.face_normals.tolist() == [[0, 0, 0]] * 3


@pytest.mark.parametrize("body, line, words", [
    ("v 0 0\n", 1, "at least 3"),
    ("v 0 0 0\nv 1 0 0\nv 0 x 0\n", 3, "numbers"),
    ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", 4, "out of range"),
    ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\n", 4, "at least 3 vertices"),
    ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/1 2/1 3/1\n", 4, "texture index 1 out of range"),
    ("mtllib missing.mtl\n", 1, "not found"),
    ("v 0 0 0\nv 1 0 0\nv 0 1 0\nusemtl nope\n", 4, "nope"),
])
def test_obj_errors_name_file_and_line(tmp_path, body, line, words):
    p = tmp_path / "bad.obj"
    p.write_text(body)
    with pytest.raises(ObjFormatError) as e:
        load_obj(p)
    msg = str(e.value)
    assert f"{p}:{line}:" in msg and words in msg and "\n" not in msg


def test_obj_without_faces_and_missing_texture(tmp_path):
    p = tmp_path / "pts.obj"
    p.write_text("v 0 0 0\n")
    with pytest.raises(ObjFormatError, match="no faces"):
        load_obj(p)
    (tmp_path / "m.mtl").write_text("newmtl a\nmap_Kd gone.png\n")
    (tmp_path / "t.obj").write_text("mtllib m.mtl\n")
    with pytest.raises(ObjFormatError, match=r"m\.mtl:2: texture"):
        load_obj(tmp_path / "t.obj")


# --- occlusion --------------------------------------------------------------------------------

def test_object_behind_wall_hidden_in_front_visible():
    k = Intrinsics.from_hfov(64, 48, 60.0)
    bg = np.full((48, 64, 3), 90, np.uint8)
    wall = np.full((48, 64), 2.0, np.float32)
    behind = render_mesh(cube_mesh(0.4).transformed(translation=(0, 0, 3.0)), k, 64, 48)
    out, vis = composite(bg, wall, behind)
    assert behind.mask.any() and not vis.any() and np.array_equal(out, bg)
    front = render_mesh(cube_mesh(0.4).transformed(translation=(0, 0, 1.0)), k, 64, 48)
    out, vis = composite(bg, wall, front)
    assert np.array_equal(vis, front.mask)
    assert np.array_equal(out[vis], front.rgba[vis, :3]) and np.array_equal(out[~vis], bg[~vis])
    # A wall through the cube's middle: the front half shows, strictly nearer only, invalid scene hides.
    through = render_mesh(cube_mesh(0.4).transformed(translation=(0, 0, 2.0)), k, 64, 48)
    assert visibility_mask(through.depth, wall).sum() == through.mask.sum()  # front face at 1.8 < 2
    tie = np.full((48, 64), np.inf, np.float32)
    tie[through.mask] = through.depth[through.mask]
    assert not visibility_mask(through.depth, tie).any()
    for bad in (np.nan, 0.0, -1.0, np.inf):
        assert not visibility_mask(front.depth, np.full((48, 64), bad, np.float32)).any()


def test_composite_matches_depth_core_reference():
    from export.fixtures import argb_to_rgb, occlusion_reference

    rng = np.random.default_rng(3)
    h, w = 9, 11
    bg_argb = (0xFF000000 | rng.integers(0, 1 << 24, size=(h, w))).astype(np.uint32)
    obj_argb = rng.integers(0, 1 << 32, size=(h, w), dtype=np.uint64).astype(np.uint32)
    obj_depth = np.where(rng.random((h, w)) < 0.3, np.inf, rng.uniform(1, 3, (h, w))).astype(np.float32)
    scene = rng.uniform(0.5, 3.5, (h, w)).astype(np.float32)
    scene[0, :3] = (np.nan, 0.0, np.inf)
    ref_vis, ref_out = occlusion_reference(bg_argb, scene, obj_argb, obj_depth)
    rgba = np.concatenate([argb_to_rgb(obj_argb), (obj_argb >> 24).astype(np.uint8)[..., None]], axis=-1)
    out, vis = composite(argb_to_rgb(bg_argb), scene, Rendered(rgba, obj_depth))
    np.testing.assert_array_equal(vis, ref_vis)
    np.testing.assert_array_equal(out, argb_to_rgb(ref_out))


_DEPTHS = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -1.0, 0.5, 1.0, 1.0, 2.0, 3.5])


@settings(max_examples=40, deadline=None)
@given(obj=st.lists(_DEPTHS, min_size=12, max_size=12), scene=st.lists(_DEPTHS, min_size=12, max_size=12),
       alpha=st.integers(0, 255))
def test_composite_properties(obj, scene, alpha):
    obj_depth = np.array(obj, np.float32).reshape(3, 4)
    obj_depth[~(obj_depth > 0)] = np.inf  # the rasterizer's "absent"
    scene_depth = np.array(scene, np.float32).reshape(3, 4)
    rgba = np.zeros((3, 4, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = 200, np.where(np.isfinite(obj_depth), alpha, 0)
    bg = np.full((3, 4, 3), 50, np.uint8)
    out, vis = composite(bg, scene_depth, Rendered(rgba, obj_depth))
    # Shown only where the object exists and is strictly nearer than a valid scene; elsewhere untouched.
    with np.errstate(invalid="ignore"):
        expected = np.isfinite(obj_depth) & np.isfinite(scene_depth) & (scene_depth > 0) & (obj_depth < scene_depth)
    np.testing.assert_array_equal(vis, expected)
    np.testing.assert_array_equal(out[~vis], bg[~vis])
    np.testing.assert_array_equal(out[vis], (200 * alpha + 50 * (255 - alpha) + 127) // 255)


def test_occlusion_on_synthetic_frame_with_true_depth():
    from keras_depth.data.synthetic import render_trajectory

    traj = render_trajectory(0, 1, 60, 80, split="val", index=1)
    k = Intrinsics(*[float(v) for v in traj.intrinsics[0]])
    depth = traj.depth[0]
    z0 = float(depth[30, 40])
    center = k.backproject(40, 30, z0)  # the cube's centre on the surface seen at the centre pixel
    rot = rotation_y(30.0)
    obj = render_mesh(cube_mesh(0.3 * z0).transformed(rotation=rot, translation=center), k, 80, 60)
    _, vis = composite(traj.image[0], depth, obj)
    # Independently: where the pixel ray enters the box vs the true depth.
    entry = ray_box_depth(k, 80, 60, center, rot, 0.15 * z0)
    expected = np.isfinite(entry) & (entry < depth) & (depth > 0)
    on = obj.mask | np.isfinite(entry)
    assert 0 < vis.sum() < obj.mask.sum()  # partly hidden by the surface it is sunk into
    assert np.count_nonzero(vis != expected) <= 0.02 * on.sum()
    assert np.count_nonzero(vis & expected) / np.count_nonzero(vis | expected) > 0.97  # IoU


# --- placement ----------------------------------------------------------------------------------

def test_alignment_maps_relative_to_metric_disparity_and_invalid_depth_to_nan():
    rel_disp = np.array([0.25, 0.5, 2.0], np.float32)
    disp = Alignment(2.0, -1.0).disparity(rel_disp)
    np.testing.assert_allclose(disp, [-0.5, 0.0, 3.0])
    depth = disparity_to_depth(disp)  # what ScenePipeline occludes with
    assert np.isnan(depth[0]) and np.isnan(depth[1]) and depth[2] == pytest.approx(1 / 3)


def test_sparse_points_file(tmp_path):
    p = tmp_path / "pts.txt"
    p.write_text("# x y depth\n10, 20, 1.5\n3 4 5 2.0\n")
    pts = load_sparse_points(p)
    assert pts[None] == [MetricPoint(10, 20, 1.5)] and pts[3] == [MetricPoint(4, 5, 2.0)]
    p.write_text("1 2 3\n1 2\n")
    with pytest.raises(DataError, match=r"pts\.txt:2:"):
        load_sparse_points(p)
    p.write_text("1 2 -3\n")
    with pytest.raises(DataError, match="positive"):
        load_sparse_points(p)


# --- temporal -----------------------------------------------------------------------------------

def test_flicker_hand_made_sequence():
    rng = np.random.default_rng(0)
    t, h, w = 6, 8, 10
    grays = np.full((t, h, w), 100.0, np.float32)
    grays[3:, :2, :] += 50  # rows 0-1 change between frames 2 and 3: excluded at that step only
    disp = 0.5 + 0.01 * rng.standard_normal((t, h, w)).astype(np.float32)
    disp[1, 5, 5] = np.nan  # excluded at steps 0->1 and 1->2
    diffs, n = 0.0, 0
    for i in range(1, t):
        m = np.abs(grays[i] - grays[i - 1]) < 3.0
        m &= np.isfinite(disp[i]) & np.isfinite(disp[i - 1])
        diffs += np.abs(disp[i] - disp[i - 1])[m].astype(np.float64).sum()
        n += m.sum()
    assert n == 5 * h * w - 2 * w - 2
    assert flicker(disp, grays) == pytest.approx(diffs / n, rel=1e-6)
    meter = FlickerMeter()
    for d, g in zip(disp, grays):
        meter.update(d, g)
    r = meter.result()
    assert r["pixel_steps"] == n and r["frame_steps"] == 5
    assert r["flicker_rel"] == pytest.approx(r["flicker"] / 0.5, rel=0.01)


def test_stabilisation_ema_and_flicker_reduction():
    s = TemporalSmoother(alpha=0.25, threshold=3.0, dilate=0)
    g = np.zeros((2, 2), np.float32)
    s.smooth_disparity(np.full((2, 2), 1.0, np.float32), g)
    g2 = g.copy()
    g2[0, 0] = 10  # moving pixel: takes the new value
    out = s.smooth_disparity(np.array([[2.0, 2.0], [2.0, np.nan]], np.float32), g2)
    np.testing.assert_allclose(out, [[2.0, 1.25], [1.25, 1.0]])
    a = s.smooth_alignment(Alignment(2.0, 0.0))
    assert s.smooth_alignment(Alignment(4.0, 1.0)) == Alignment(2.5, 0.25) and a == Alignment(2.0, 0.0)
    assert static_mask(g, g2, 3.0, dilate=1).sum() == 0  # a 2x2 map: the dilated change covers it

    rng = np.random.default_rng(1)
    t = 30
    grays = np.full((t, 16, 16), 80.0, np.float32)
    disp = 0.4 + 0.02 * rng.standard_normal((t, 16, 16)).astype(np.float32)
    smoother = TemporalSmoother(alpha=0.3)
    smoothed = [smoother.smooth_disparity(d, g) for d, g in zip(disp, grays)]
    before, after = flicker(disp, grays), flicker(smoothed, grays)
    # White noise sigma: d_t - d_t-1 ~ N(0, 2 sigma^2), so E|.| = 2 sigma / sqrt(pi). The EMA s has
    # s_t - s_t-1 = a (x_t - s_t-1) with Var = a^2 sigma^2 (1 + a / (2 - a)): the std scales by a / sqrt(2 - a).
    assert before == pytest.approx(2 * 0.02 / np.sqrt(np.pi), rel=0.1)
    assert after == pytest.approx(before * 0.3 / np.sqrt(1.7), rel=0.15)


# --- frame sources ----------------------------------------------------------------------------

def test_natural_sort_and_sources(tmp_path):
    import cv2

    assert sorted(["f10.png", "f2.png", "F1.png"], key=natural_key) == ["F1.png", "f2.png", "f10.png"]
    for i in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((4, 6, 3), i, np.uint8))
    with open_source(str(tmp_path)) as src:
        assert src.count == 3 and [int(f[0, 0, 0]) for f in src] == [1, 2, 10]
    with pytest.raises(UsageError, match="--input: .*not found"):
        open_source(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no images"):
        open_source(str(tmp_path / "empty"))


# --- demo CLI, end to end -----------------------------------------------------------------------

@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """The export.fixtures tiny int8 model (relative disparity, 24x32), and the same tensor read as metric depth."""
    from export.fixtures import build_tiny_model
    from export.manifest import write_manifest
    from keras_depth.runtime.manifest import read_manifest

    tmp = tmp_path_factory.mktemp("ar_models")
    rel = build_tiny_model(tmp / "rel")
    met = tmp / "metric" / "tiny_metric.tflite"
    met.parent.mkdir()
    shutil.copy(rel, met)
    m = read_manifest(rel)
    m.model_file, m.output.kind, m.output.semantics, m.output.units = met.name, "depth", "metric", "m"
    write_manifest(m, met)
    return {"relative": rel, "metric": met}


@pytest.fixture(scope="module")
def bedroom_frames(shared_data, tmp_path_factory) -> Path:
    src = shared_data / "video" / "bedroom_frames"
    if not src.is_dir():
        pytest.fail(f"shared data missing: {src}")
    dst = tmp_path_factory.mktemp("bedroom")
    for f in sorted(src.glob("*.jpg"))[:6]:
        (dst / f.name).symlink_to(f)
    return dst


def _demo(argv: list[str]) -> int:
    from keras_depth.cli import main

    return main(["demo", *argv])


@pytest.mark.parametrize("semantics", ["relative", "metric"])
def test_demo_cli_writes_side_by_side_mp4(semantics, tiny_models, bedroom_frames, tmp_path, capsys):
    out = tmp_path / "runs" / "demo.mp4"
    rc = _demo(["--model", str(tiny_models[semantics]), "--input", str(bedroom_frames), "--out", str(out),
                "--max-frames", "5", "--png-every", "2", "--anchor-pixel", "480,200", "--max-width", "320"])
    assert rc == 0, capsys.readouterr().err
    assert read_video_info(out) == (5, 640, 180)  # 960x540 -> 320x180, two panels
    assert sorted(p.name for p in out.parent.glob("*.png")) == ["demo_00000.png", "demo_00002.png", "demo_00004.png"]
    assert not list(out.parent.glob(".*"))  # no temp files left
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["frames"] == 5 and summary["semantics"] == semantics
    assert all(f["object_pixels"] > 0 for f in summary["per_frame"])
    assert "demo [" in capsys.readouterr().err  # the progress line


def test_demo_cli_obj_stabilize_sparse(tiny_models, bedroom_frames, tmp_path, capsys):
    obj = write_textured_quad(tmp_path)
    pts = tmp_path / "pts.txt"
    pts.write_text("100 400 1.0\n800 100 3.0\n")
    out = tmp_path / "obj.mp4"
    rc = _demo(["--model", str(tiny_models["relative"]), "--input", str(bedroom_frames), "--out", str(out),
                "--object", str(obj), "--distance", "1.5", "--stabilize", "--sparse-points", str(pts),
                "--max-frames", "3", "--max-width", "160", "--no-progress", "--spin", "10"])
    assert rc == 0, capsys.readouterr().err
    assert read_video_info(out) == (3, 320, 90)
    assert "demo [" not in capsys.readouterr().err


@pytest.mark.parametrize("extra, words", [
    (["--input", "/nonexistent/frames"], "--input"),
    (["--anchor-pixel", "12"], "--anchor-pixel"),
    (["--distance", "-1"], "--distance"),
    (["--anchor-pixel", "1,2", "--distance", "2"], "not allowed with"),
    (["--bogus"], "unrecognized"),
    (["--object", "thing.stl"], "--object"),
    (["--anchor-pixel", "5000,10"], "outside"),
])
def test_demo_cli_bad_usage_exits_2_with_one_line(extra, words, tiny_models, bedroom_frames, tmp_path, capsys):
    argv = ["--model", str(tiny_models["relative"]), "--input", str(bedroom_frames), "--out", str(tmp_path / "x.mp4"),
            "--max-frames", "2", "--no-progress"]
    for flag, value in zip(extra[::2], extra[1::2]):
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    if len(extra) % 2:
        argv += extra[-1:]
    assert _demo(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and words in err[0], err
    assert not (tmp_path / "x.mp4").exists() and not list(tmp_path.glob(".x*"))


def test_temporal_eval_with_and_without_stabilisation(tiny_models, shared_data, tmp_path, capsys):
    from keras_depth.cli import main

    video = shared_data / "video" / "vtest_static_camera"
    rc = main(["temporal", "--tflite", str(tiny_models["relative"]), "--input", str(video), "--frames", "8",
               "--out", str(tmp_path)])
    assert rc == 0, capsys.readouterr().err
    (res,) = json.loads((tmp_path / "flicker.json").read_text())
    assert res["frames"] == 8 and res["with"]["pixel_steps"] == res["without"]["pixel_steps"] > 0
    assert 0 <= res["with"]["flicker"] < res["without"]["flicker"]
    assert "| fixture_tiny.tflite" in (tmp_path / "flicker.md").read_text()
    assert main(["temporal", "--tflite", str(tmp_path / "none.tflite"), "--out", str(tmp_path)]) == 2


def test_ar_eval_cli_scores_occlusion_against_true_depth(tiny_models, tmp_path, capsys):
    from keras_depth.cli import main

    out = tmp_path / "synthetic.mp4"
    rc = main(["ar-eval", "--model", str(tiny_models["relative"]), "--count", "3", "--height", "60", "--width", "80",
               "--out", str(out), "--png-every", "2"])
    assert rc == 0, capsys.readouterr().err
    res = json.loads(out.with_suffix(".json").read_text())
    assert res == json.loads(capsys.readouterr().out)
    assert read_video_info(out) == (3, 320, 60)  # four 80x60 panels
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["synthetic_00000.png", "synthetic_00002.png"]
    for mode in ("raw", "anchored", "oracle"):
        assert 0.0 <= res[mode]["iou"] <= 1.0 and 0.0 <= res[mode]["pixel_agreement"] <= 1.0
    assert res["trajectory"]["count"] == 3 and res["visible_true_pixels"] > 0
    assert main(["ar-eval", "--model", str(tmp_path / "none.tflite")]) == 2
    assert main(["ar-eval", "--model", str(tiny_models["relative"]), "--count", "0"]) == 2
