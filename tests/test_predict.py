"""``keras-depth predict`` and the Python API (``kd.load(model).predict(rgb)``), on models whose output
is known by construction: a 1x1 conv that maps the red channel to depth, ``d = 1 + 3 R`` metres (R in
[0, 1]), at a 2:3 input (32x48). Every expected value below is computed from that formula, the crop
and pad geometry and the file formats' definitions, not from the code under test."""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_depth.cli import main
from keras_depth.kerasapi import keras
from keras_depth.spec import DepthSpec

REPO = Path(__file__).resolve().parents[1]
HW = (32, 48)


def red_model() -> keras.Model:
    x = inp = keras.Input((*HW, 3), name="image")
    x = keras.layers.Conv2D(1, 1, name="depth", kernel_initializer=keras.initializers.Constant([[[[3.0], [0.0], [0.0]]]]),
                            bias_initializer=keras.initializers.Constant(1.0))(x)
    return keras.Model(inp, x, name="red")


def write_model(folder: Path, semantics: str = "metric") -> Path:
    from export.converters import convert_float32
    from export.model_manifest import build_manifest
    from export.variants import write_tflite

    folder.mkdir(parents=True, exist_ok=True)
    spec = DepthSpec(min_depth=0.5, max_depth=5.0, semantics=semantics)
    blob = convert_float32(red_model())
    path = folder / "model_float32.tflite"
    write_tflite(path, blob, build_manifest(path.name, blob, "float32", spec))
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    out = {"metric": write_model(root / "metric"), "relative": write_model(root / "relative", "relative")}
    keras_path = root / "keras" / "model.keras"
    keras_path.parent.mkdir()
    red_model().save(keras_path)
    spec = DepthSpec(min_depth=0.5, max_depth=5.0)
    meta = {"input": {"height": HW[0], "width": HW[1]}, "spec": spec.to_dict()}  # as train writes it
    (keras_path.parent / "model_meta.json").write_text(json.dumps(meta))
    out["keras"] = keras_path
    return out


def ramp(h: int, w: int) -> np.ndarray:
    """uint8 RGB whose red channel rises left to right, 0..255; green and blue noise (ignored)."""
    rgb = np.random.default_rng(0).integers(0, 256, (h, w, 3)).astype(np.uint8)
    rgb[..., 0] = np.round(np.linspace(0, 255, w))[None, :]
    return rgb


def expected_depth(rgb: np.ndarray) -> np.ndarray:
    return 1.0 + 3.0 * rgb[..., 0].astype(np.float64) / 255.0


@pytest.mark.parametrize("kind", ["metric", "keras"])
def test_same_aspect_gives_the_formula_at_the_input_resolution(models, kind):
    import keras_depth as kd

    rgb = ramp(96, 144)  # 3x the model's 32x48
    r = kd.load(models[kind]).predict(rgb)
    assert r.values.shape == (96, 144) and r.valid.all() and r.semantics == "metric"
    # area-averaged to 32x48, then bilinear back up: a linear ramp survives but within one model
    # pixel (3 input pixels) of the left and right edges, where bilinear holds the edge value
    want = expected_depth(rgb)
    inner = np.s_[:, 3:-3]
    np.testing.assert_allclose(r.metres[inner], want[inner], atol=3.0 * 3 / 143 + 1e-3)
    # smooth: no step between neighbouring output pixels larger than one model pixel's change
    assert np.abs(np.diff(r.metres, axis=1)).max() <= 3.0 * 3 / 143 + 1e-3


def test_crop_predicts_the_centre_and_marks_the_rest(models):
    import keras_depth as kd

    rgb = ramp(96, 96)  # square into 2:3: rows cropped to 96 * 2/3 = 64, starting at (96 - 64) / 2 = 16
    r = kd.load(models["metric"]).predict(rgb, fit="crop")
    rows = np.flatnonzero(r.valid.any(axis=1))
    assert (rows[0], rows[-1]) == (16, 79) and r.valid[16:80].all()
    assert np.isnan(r.values[:16]).all() and np.isnan(r.values[80:]).all()
    np.testing.assert_allclose(r.values[16:80, 3:-3], expected_depth(rgb)[16:80, 3:-3], atol=0.07)


def test_pad_predicts_every_pixel(models):
    import keras_depth as kd

    rgb = ramp(96, 96)
    r = kd.load(models["metric"]).predict(rgb, fit="pad")
    assert r.valid.all() and r.values.shape == (96, 96)
    # 96 rows stay; the width is mirrored out to 144 (24 each side): the ramp's interior is intact
    np.testing.assert_allclose(r.values[:, 4:-4], expected_depth(rgb)[:, 4:-4], atol=0.07)


def test_batch_input_gives_one_result_each(models):
    import keras_depth as kd

    model = kd.load(models["keras"])
    batch = np.stack([ramp(64, 96), ramp(64, 96)[:, ::-1]])
    results = model.predict(batch)
    assert len(results) == 2
    np.testing.assert_allclose(results[1].values, results[0].values[:, ::-1], atol=1e-4)


def test_cli_writes_each_format_by_its_definition(models, tmp_path):
    import cv2

    rgb = ramp(96, 144)
    cv2.imwrite(str(tmp_path / "photo.png"), rgb[..., ::-1])
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "photo.png"), "--model", str(models["metric"]), "--out", str(out),
                 "--save", "png,png16,npy,pfm,ply", "--fov", "90", "--side-by-side"]) == 0
    depth = np.load(out / "photo.npy")
    assert depth.shape == (96, 144) and depth.dtype == np.float32
    mm = cv2.imread(str(out / "photo_mm.png"), cv2.IMREAD_UNCHANGED)
    assert mm.dtype == np.uint16 and mm.shape == (96, 144)
    np.testing.assert_array_equal(mm, np.round(depth * 1000).astype(np.uint16))
    from keras_depth.data.readers.decode import read_pfm

    np.testing.assert_allclose(read_pfm(out / "photo.pfm"), depth)
    png = cv2.imread(str(out / "photo.png"))
    assert png.shape[1] == 144 and png.shape[0] > 96  # the depth view plus its colour bar and legend
    assert cv2.imread(str(out / "photo_side.png")).shape[1] == 288
    # ply: every pixel, x = (u + 0.5 - cx) / f * z with f = (144 / 2) / tan(45 deg) = 72, cx = 72
    data = (out / "photo.ply").read_bytes()
    header, body = data.split(b"end_header\n", 1)
    assert b"element vertex 13824" in header
    rows = np.frombuffer(body, dtype=[("xyz", "<f4", 3), ("rgb", "u1", 3)])
    first = rows[0]  # pixel (0, 0)
    z = depth[0, 0]
    np.testing.assert_allclose(first["xyz"], [(0.5 - 72) / 72 * z, (0.5 - 48) / 72 * z, z], rtol=1e-5)
    np.testing.assert_array_equal(first["rgb"], rgb[0, 0])


def test_relative_model_says_so_and_aligns_by_the_median(models, tmp_path, capsys):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), ramp(64, 96)[..., ::-1])
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "a.png"), "--model", str(models["relative"]), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.npy", "a.png"]  # no millimetres, no points
    assert "no metric scale" in capsys.readouterr().out
    assert main(["predict", str(tmp_path / "a.png"), "--model", str(models["relative"]), "--out", str(out),
                 "--align-median", "2.5", "--save", "npy,png16"]) == 0
    assert math.isclose(float(np.nanmedian(np.load(out / "a.npy"))), 2.5, rel_tol=1e-5)


def test_unreadable_inputs_are_counted_skips(models, tmp_path, capsys):
    import cv2

    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "good.png"), ramp(64, 96)[..., ::-1])
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "out"
    assert main(["predict", str(folder), "--model", str(models["metric"]), "--out", str(out), "--save", "npy"]) == 0
    captured = capsys.readouterr()
    assert "skipped 1 unreadable input" in captured.out and "skipped 1 unreadable input" in captured.err
    assert [l for l in captured.err.splitlines() if l.startswith("warning:")][0].startswith(f"warning: skipped {folder / 'broken.jpg'}")
    assert sorted(p.name for p in out.iterdir()) == ["good.npy"]
    assert main(["predict", str(folder), "--model", str(models["metric"]), "--out", str(out), "--strict"]) == 2


# native libraries' start-up lines, as the bad-input catalogue (test_bad_inputs._NOISE) leaves them out
_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|[IWEF]\d{4} \d\d:\d\d:\d\d|WARNING:(tensorflow|absl):"
                    r"|INFO: Created TensorFlow Lite XNNPACK delegate)")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keras_depth.cli", "predict", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_bad_inputs_exit_2_with_one_line(models, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken.jpg").write_bytes(b"garbage")
    (tmp_path / "photo.png").write_bytes(b"")
    import cv2

    cv2.imwrite(str(tmp_path / "photo.png"), ramp(64, 96)[..., ::-1])
    m, rel = str(models["metric"]), str(models["relative"])
    cases = [
        ([str(tmp_path / "photo.png"), "--model", str(tmp_path / "nope.tflite"), "--out", str(tmp_path / "o")], "model not found"),
        ([str(tmp_path / "empty"), "--model", m, "--out", str(tmp_path / "o")], "folder holds no images"),
        ([str(tmp_path / "broken.jpg"), "--model", m, "--out", str(tmp_path / "o")], "nothing could be read"),
        ([str(tmp_path / "photo.png"), "--model", m, "--out", str(tmp_path / "o"), "--intrinsics", "1,2,3"], "--intrinsics expects"),
        ([str(tmp_path / "photo.png"), "--model", rel, "--out", str(tmp_path / "o"), "--save", "ply", "--fov", "60"],
         "no metres"),
        ([str(tmp_path / "photo.png"), "--model", m, "--out", str(tmp_path / "photo.png")], "not a folder"),
        ([str(tmp_path / "photo.png"), "--model", str(tmp_path / "photo.png"), "--out", str(tmp_path / "o")],
         "expected a .tflite or a .keras"),
    ]
    for args, message in cases:
        proc = _cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = [l for l in proc.stderr.strip().splitlines() if not _NOISE.match(l)]
        assert len(lines) == 1 and message in lines[0], (args, proc.stderr)


def test_video_gives_frames_and_a_depth_movie_and_stabilise_smooths_static_pixels(models, tmp_path):
    import cv2

    from keras_depth.ar.temporal import DEFAULT_ALPHA
    from keras_depth.ar.video import read_video_info
    from keras_depth.cli.predict import _DepthMovie
    from keras_depth.inference.result import DepthResult

    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (96, 64))
    for _ in range(4):
        writer.write(ramp(64, 96)[..., ::-1])
    writer.release()
    out = tmp_path / "out"
    assert main(["predict", str(clip), "--model", str(models["metric"]), "--out", str(out), "--save", "npy",
                 "--stabilise", "--max-frames", "3"]) == 0
    assert sorted(p.name for p in out.glob("*.npy")) == [f"clip_{i:06d}.npy" for i in range(3)]
    assert read_video_info(out / "clip_depth.mp4") == (3, 2 * 96, 64)  # image | depth
    # two frames of one static image: the second's disparity is the EMA alpha d2 + (1 - alpha) d1
    image = ramp(8, 8)
    movie = _DepthMovie(tmp_path / "m", "x.mp4", "video", stabilise=True)
    first = DepthResult(np.full((8, 8), 2.0, np.float32), np.ones((8, 8), bool), "metric", image)
    second = DepthResult(np.full((8, 8), 4.0, np.float32), np.ones((8, 8), bool), "metric", image)
    movie.add(first)
    smoothed = movie.add(second)
    movie.close()
    want = 1.0 / (DEFAULT_ALPHA / 4.0 + (1 - DEFAULT_ALPHA) / 2.0)
    np.testing.assert_allclose(smoothed.values, want, rtol=1e-5)


def test_native_grid_undoes_nearest_blocks_only():
    from keras_depth.inference.model import native_grid

    coarse = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(native_grid(np.repeat(np.repeat(coarse, 2, 0), 2, 1)), coarse)
    np.testing.assert_array_equal(native_grid(np.repeat(np.repeat(coarse, 4, 0), 4, 1)), coarse)
    smooth = np.add.outer(np.arange(6.0), np.arange(8.0)).astype(np.float32)  # no two neighbours equal
    assert native_grid(smooth) is smooth
    almost = np.repeat(np.repeat(coarse, 2, 0), 2, 1)
    almost[0, 1] += 0.5  # one pixel breaks a block: not a nearest upsampling, left as it is
    assert native_grid(almost) is almost


def test_predict_with_a_tflite_model_never_imports_tensorflow(models, tmp_path):
    """TensorFlow's import alone takes seconds; reading a photo, running the TFLite runtime and writing
    the outputs need none of it."""
    import cv2

    cv2.imwrite(str(tmp_path / "p.png"), ramp(48, 64)[..., ::-1])
    code = ("import sys; from keras_depth.cli import main; "
            f"rc = main(['predict', {str(tmp_path / 'p.png')!r}, '--model', {str(models['metric'])!r}, '--out', "
            f"{str(tmp_path / 'o')!r}, '--fov', '60', '--save', 'png,png16,npy,pfm,ply,side']); "
            "print(rc, 'tensorflow' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.stdout.strip().splitlines()[-1] == "0 False", proc.stdout + proc.stderr
