"""Distillation: teachers of every kind, flip TTA, the pseudo-label cache, the semantics -> loss
recipe, a tiny end-to-end ``keras-depth distill`` and its bad inputs (docs/distill.md)."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow as tf

from keras_depth.cli import main
from keras_depth.data.readers.pseudo_labels import read_cache
from keras_depth.distill.pseudo_labels import combine_teachers, flip_tta, label_source
from keras_depth.distill.teachers import load_teacher
from keras_depth.distill.unlabeled import FrameSource
from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras
from keras_depth.teacher_spec import TeacherSpec

HW = (32, 48)  # the test teacher's input


def _tiny_teacher() -> keras.Model:
    """A small conv net with a positive output: depth = softplus(conv(conv(x))) + 0.5."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((*HW, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    x = keras.layers.Conv2D(1, 3, padding="same")(x)
    x = keras.layers.Activation("softplus")(x)
    out = keras.layers.Rescaling(1.0, offset=0.5)(x)
    return keras.Model(inp, out)


@pytest.fixture(scope="module")
def teacher_files(tmp_path_factory) -> dict[str, Path]:
    import tf2onnx

    d = tmp_path_factory.mktemp("teachers")
    model = _tiny_teacher()
    model.save(d / "t.keras")
    (d / "t.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    fn = tf.function(lambda x: model(x, training=False))
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=(tf.TensorSpec([1, *HW, 3], tf.float32, name="image"),),
                                             opset=13)
    (d / "t.onnx").write_bytes(proto.SerializeToString())
    clf = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])
    (d / "classifier.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(clf).convert())
    return {"keras": d / "t.keras", "tflite": d / "t.tflite", "onnx": d / "t.onnx", "classifier": d / "classifier.tflite"}


def _write_frames(folder: Path, n: int, hw=(60, 90)) -> list[np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    frames = []
    for i in range(n):
        base = np.linspace(0, 255, hw[1])[None, :, None] * np.linspace(0.3, 1, hw[0])[:, None, None]
        img = np.clip(base + rng.normal(0, 20, (*hw, 3)) + 10 * i, 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"im{i:02d}.png"), img[..., ::-1])
        frames.append(img)
    return frames


def test_flip_tta_is_the_hand_computed_average_and_mask():
    # The teacher adds its own column index: on the frame a[j] = 1 + j, on the mirror (flipped back)
    # b[j] = 1 + (3 - j). Average 2.5 everywhere; disagreement |a - b| / 2.5 = 1.2, 0.4, 0.4, 1.2.
    rgb = np.zeros((2, 4, 3), np.uint8)
    predict = lambda x: 1.0 + np.tile(np.arange(x.shape[1], dtype=np.float32), (x.shape[0], 1))  # noqa: E731
    label, keep = flip_tta(predict, rgb, "metric", threshold=0.5)
    np.testing.assert_array_equal(keep, np.array([[False, True, True, False]] * 2))
    np.testing.assert_allclose(label, np.array([[0, 2.5, 2.5, 0]] * 2, np.float32))


def test_flip_tta_aligns_the_mirror_as_the_semantics_allow():
    # A teacher whose scale depends on a marker pixel: the mirrored frame comes back twice as deep.
    rgb = np.zeros((3, 5, 3), np.uint8)
    rgb[0, 0, 1] = 255
    depth = 1.0 + np.arange(15, dtype=np.float32).reshape(3, 5) / 10
    depth_sym = (depth + depth[:, ::-1]) / 2  # the teacher's answer is mirror-symmetric but for the scale

    def predict(x):
        return depth_sym * (1.0 if x[0, 0, 1] == 255 else 2.0)

    label, keep = flip_tta(predict, rgb, "relative", threshold=0.01)
    assert keep.all()
    np.testing.assert_allclose(label, depth_sym, rtol=1e-6)  # median ratio 0.5 undoes the scale
    label, keep = flip_tta(predict, rgb, "metric", threshold=0.1)  # metric: no alignment allowed
    assert not keep.any()  # |d - 2d| / 1.5d = 0.67 > 0.1 everywhere
    # Affine disparity: the mirror comes back as 2 d + 0.3, and least squares undoes both.
    label, keep = flip_tta(lambda x: depth_sym if x[0, 0, 1] == 255 else 2 * depth_sym + 0.3, rgb, "affine_disparity", 0.01)
    assert keep.all()
    np.testing.assert_allclose(label, depth_sym, rtol=1e-5)


def test_several_teachers_are_aligned_to_the_first_then_averaged():
    y = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    label, keep = combine_teachers([y, 3 * y], [np.ones((2, 2), bool), np.array([[1, 1], [1, 0]], bool)], "relative")
    np.testing.assert_allclose(label, np.array([[1, 2], [3, 0]], np.float32), rtol=1e-6)
    np.testing.assert_array_equal(keep, np.array([[1, 1], [1, 0]], bool))
    label, _ = combine_teachers([y, 3 * y], [np.ones((2, 2), bool)] * 2, "metric")  # no alignment: the mean
    np.testing.assert_allclose(label, 2 * y)


@pytest.mark.parametrize("kind", ["onnx", "tflite"])
def test_onnx_and_tflite_teachers_match_the_keras_original(teacher_files, kind, tmp_path):
    # Same weights in three runtimes; float32 kernels differ only in summation order (tolerance 1e-4 m).
    frame = _write_frames(tmp_path, 1, hw=HW)[0]
    ref = load_teacher(TeacherSpec(kind="keras", path=str(teacher_files["keras"]), semantics="metric"))
    other = load_teacher(TeacherSpec(kind=kind, path=str(teacher_files[kind]), semantics="metric"))
    assert other.input_hw == HW and (kind != "onnx" or other.layout == "NHWC")
    a, b = ref.predict(frame), other.predict(frame)
    assert a.shape == HW and a.min() > 0.5
    np.testing.assert_allclose(b, a, atol=1e-4)
    src = FrameSource.from_entry({"path": str(tmp_path)}, "s")
    la = read_cache(label_source([ref], src, tmp_path / "c1", log=lambda s: None))[2]
    lb = read_cache(label_source([other], src, tmp_path / "c2", log=lambda s: None))[2]
    np.testing.assert_allclose(np.asarray(lb, np.float32), np.asarray(la, np.float32), atol=2e-3)  # float16 storage


def test_the_cache_never_calls_the_teacher_twice(teacher_files, tmp_path):
    _write_frames(tmp_path / "frames", 5)
    block = TeacherSpec(kind="tflite", path=str(teacher_files["tflite"]), semantics="relative")
    source = FrameSource.from_entry({"path": str(tmp_path / "frames"), "every": 2}, "s")
    teacher = load_teacher(block)
    folder = label_source([teacher], source, tmp_path / "cache", log=lambda s: None)
    assert teacher.calls == 2 * 3  # frames 0, 2, 4, each on itself and its mirror
    meta, images, labels, masks = read_cache(folder)
    assert meta["keys"] == ["frames/im00", "frames/im02", "frames/im04"] and labels.dtype == np.float16
    assert images.shape[1:3] == labels.shape[1:] == masks.shape[1:]
    again = load_teacher(block)
    assert label_source([again], source, tmp_path / "cache", log=lambda s: None) == folder
    assert again.calls == 0
    changed = label_source([again], source, tmp_path / "cache", threshold=0.2, log=lambda s: None)  # new key
    assert changed != folder and again.calls == 6


def test_precomputed_folder_teacher(tmp_path):
    frames = _write_frames(tmp_path / "frames", 3)
    labels = tmp_path / "labels"
    labels.mkdir()
    for i in range(3):  # half resolution, same aspect: value i + 1 metres
        np.save(labels / f"frames__im{i:02d}.npy", np.full((30, 45), i + 1.0, np.float32))
    teacher = load_teacher(TeacherSpec(kind="precomputed", path=str(labels), semantics="metric"))
    source = FrameSource.from_entry({"path": str(tmp_path / "frames")}, "s")
    meta, images, y, m = read_cache(label_source([teacher], source, tmp_path / "cache", log=lambda s: None))
    assert teacher.calls == 3 and images.shape[1:3] == frames[0].shape[:2]
    for i in range(3):
        assert np.all(np.asarray(y[i], np.float32) == i + 1) and np.all(m[i] == 1)
    np.save(labels / "frames__im99.npy", np.ones((30, 45), np.float32))
    with pytest.raises(UsageError, match="frames__im99.npy matches no frame"):
        label_source([teacher.__class__(teacher.spec, "t")], source, tmp_path / "cache2", log=lambda s: None)
    (labels / "frames__im99.npy").unlink()
    (labels / "frames__im01.npy").unlink()
    with pytest.raises(UsageError, match="no precomputed label for frame 'frames__im01'"):
        label_source([teacher.__class__(teacher.spec, "t")], source, tmp_path / "cache3", log=lambda s: None)
    np.save(labels / "frames__im01.npy", np.ones((45, 45), np.float32))
    with pytest.raises(UsageError, match="does not have the aspect"):
        label_source([teacher.__class__(teacher.spec, "t")], source, tmp_path / "cache4", log=lambda s: None)


def _loss(config, depth, pred, semantics: str) -> float:
    from keras_depth.losses import build_loss
    from keras_depth.packed_target import pack_target
    from keras_depth.spec import SEMANTICS_CODES
    from keras_depth.training.trainer import loss_terms

    d = tf.constant(depth[None, ..., None])
    y = pack_target(d, tf.ones_like(d), tf.constant([SEMANTICS_CODES[semantics]], tf.int32))
    return float(build_loss(loss_terms(config))(y, tf.constant(pred[None, ..., None])))


def test_semantics_choose_the_loss_and_its_invariance():
    from keras_depth.config import load_config
    from keras_depth.distill.recipe import student_config

    base = load_config(None)
    depth = (1.0 + np.random.default_rng(0).random((16, 16))).astype(np.float32)
    cfgs = {s: student_config(base, s, [{"type": "x"}], [{"type": "y"}]) for s in ("metric", "relative", "affine_disparity")}
    got = {s: (c.train.mode, [t["name"] for t in c.train.losses], c.model.spec["kind"], c.model.spec["semantics"],
               c.eval.alignment) for s, c in cfgs.items()}
    assert got == {"metric": ("supervised-metric", ["silog", "log_l1"], "depth", "metric", "none"),
                   "relative": ("relative", ["silog"], "depth", "relative", "median"),
                   "affine_disparity": ("relative", ["ssi_gm"], "disparity", "affine_disparity", "lstsq_disparity")}
    assert cfgs["metric"].data.train == [{"type": "x"}] and cfgs["metric"].data.val == [{"type": "y"}]
    # Metric: a prediction off by x2 is penalised; relative: it is not (exact scale invariance).
    assert _loss(cfgs["metric"], depth, depth, "metric") < 1e-6 < 0.1 < _loss(cfgs["metric"], depth, 2 * depth, "metric")
    assert _loss(cfgs["relative"], depth, 2 * depth, "relative") < 1e-5
    # Affine disparity: target disparity t, predicted disparity 3 t + 0.2 costs (almost) nothing.
    disp = 1.0 / depth
    assert _loss(cfgs["affine_disparity"], disp, 3 * disp + 0.2, "affine_disparity") < 1e-3
    assert _loss(cfgs["affine_disparity"], disp, disp[::-1].copy(), "affine_disparity") > 0.05
    with pytest.raises(UsageError, match="teacher semantics"):
        student_config(base, "inverse", [], [])



def test_config_teachers_are_typed_when_the_config_loads(tmp_path):
    from keras_depth.config import config_from_dict, load_config
    from keras_depth.distill.teachers import teacher_from_path

    cfg = load_config(None, ["distill.teachers=[{kind: onnx, path: t.onnx, semantics: relative, input_size: [32, 48]}]"])
    (spec,) = cfg.distill.teachers
    assert spec == TeacherSpec(kind="onnx", path="t.onnx", semantics="relative", input_size=[32, 48])
    # The resolved config (config.json, the manifests' hash) writes it back as the mapping a file holds.
    assert cfg.to_dict()["distill"]["teachers"][0]["input_size"] == [32, 48]
    assert config_from_dict(cfg.to_dict()).distill.teachers == [spec]
    with pytest.raises(UsageError, match=r"^distill.teachers\[0\].colour: unknown key"):
        load_config(None, ["distill.teachers=[{kind: tflite, path: t.tflite, colour: RGB}]"])
    with pytest.raises(UsageError, match=r"^distill.teachers\[1\].kind: 'pytorch' is not one of"):
        load_config(None, ["distill.teachers=[{kind: peer, path: x}, {kind: pytorch, path: t.pt}]"])
    with pytest.raises(UsageError, match="config key 'distill.teachers': expected list"):
        load_config(None, ["distill.teachers={kind: peer, path: x}"])
    # --teacher PATH: the same type, the kind guessed from the file.
    assert teacher_from_path("t.onnx", "metric") == TeacherSpec(kind="onnx", path="t.onnx", semantics="metric")
    (tmp_path / "labels").mkdir()
    assert teacher_from_path(tmp_path / "labels").kind == "precomputed"

@pytest.mark.slow
def test_distill_end_to_end_gives_an_int8_student_with_the_teachers_semantics(teacher_files, tmp_path):
    # The student is the tiny_unet preset, not distill_local's MobileNetV2: the pipeline's stages do not
    # depend on the student's encoder, and its QAT stage alone took 39 of the test's 75 s.
    _write_frames(tmp_path / "frames", 6)
    out = tmp_path / "run"
    rc = main(["distill", "distill_local", "--teacher", str(teacher_files["tflite"]), "--semantics", "relative",
               "--frames", str(tmp_path / "frames"), "--output-dir", str(out), "--set", f"data.cache_dir={tmp_path / 'cache'}",
               "--set", "distill.evaluate_real=false", "--set", "model.name=tiny_unet", "--set", "model.params={}"])
    assert rc == 0
    manifest = json.loads((out / "model_int8_qat.json").read_text())
    assert manifest["output"]["semantics"] == "relative" and manifest["input"]["dtype"] == "uint8"
    assert (out / "model_int8_qat.tflite").stat().st_size > 10_000 and (out / "model_int8_ptq.tflite").is_file()
    report = json.loads((out / "distill_report.json").read_text())
    assert report["sources"][0]["frames"] == 6 and report["student"]["mode"] == "relative"
    assert set(report["seconds"]) == {"label", "train", "qat", "export", "evaluate"}
    assert "student int8_qat" in report["latency_ms_2_threads"] and "teacher t" in report["latency_ms_2_threads"]
    assert (out / "distill_report.md").read_text().startswith("# Distillation report")


def _bad(tmp_path: Path, capsys, *args: str) -> str:
    out = tmp_path / "run"
    rc = main(["distill", "distill_local", "--output-dir", str(out), "--set", f"data.cache_dir={tmp_path / 'cache'}", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: "), err
    written = [p for p in (tmp_path / "cache").rglob("*")] if (tmp_path / "cache").exists() else []
    assert not written and not (out / "model.keras").exists()  # nothing half-written
    return err[0]


def test_bad_teachers_fail_in_one_line_naming_the_file(teacher_files, tmp_path, capsys):
    frames = tmp_path / "frames"
    _write_frames(frames, 2)
    f = ["--frames", str(frames)]
    assert "teacher file not found" in _bad(tmp_path, capsys, "--teacher", str(tmp_path / "missing.tflite"), "--semantics", "metric", *f)
    truncated = tmp_path / "trunc.tflite"
    truncated.write_bytes(teacher_files["tflite"].read_bytes()[:200])
    assert str(truncated) in _bad(tmp_path, capsys, "--teacher", str(truncated), "--semantics", "metric", *f)
    msg = _bad(tmp_path, capsys, "--teacher", str(teacher_files["classifier"]), "--semantics", "metric", *f)
    assert "not a depth model" in msg and "classifier.tflite" in msg
    # Our manifest beside a file it does not describe.
    d = tmp_path / "wrong"
    d.mkdir()
    (d / "t.tflite").write_bytes(teacher_files["tflite"].read_bytes())
    from export.manifest import write_manifest
    from keras_depth.runtime.manifest import InputSpec, Manifest, OutputSpec

    write_manifest(Manifest("t.tflite", "float32", InputSpec(64, 64), OutputSpec(64, 64, semantics="relative")), d / "t.tflite")
    msg = _bad(tmp_path, capsys, "--teacher", str(d / "t.tflite"), *f)
    assert "manifest says input 64x64" in msg and "32x48" in msg
    assert "semantics: required" in _bad(tmp_path, capsys, "--teacher", str(teacher_files["tflite"]), *f)


def test_bad_frame_sources_fail_in_one_line(teacher_files, tmp_path, capsys):
    t = ["--teacher", str(teacher_files["tflite"]), "--semantics", "metric"]
    (tmp_path / "empty").mkdir()
    assert "no images" in _bad(tmp_path, capsys, *t, "--frames", str(tmp_path / "empty"))
    video = tmp_path / "broken.mp4"
    video.write_bytes(np.random.default_rng(0).bytes(5000))
    assert "broken.mp4" in _bad(tmp_path, capsys, *t, "--frames", str(video))
    assert "not found" in _bad(tmp_path, capsys, *t, "--frames", str(tmp_path / "nowhere"))
    labels = tmp_path / "labels"
    labels.mkdir()
    np.save(labels / "frames__other.npy", np.ones((6, 9), np.float32))
    _write_frames(tmp_path / "frames", 2)
    msg = _bad(tmp_path, capsys, "--teacher", str(labels), "--semantics", "metric", "--frames", str(tmp_path / "frames"))
    assert "no precomputed label for frame 'frames__im00'" in msg
    assert "distill.teachers" in _bad(tmp_path, capsys, "--frames", str(tmp_path / "frames"))  # no teacher at all


def test_two_teachers_of_one_model_label_like_one(teacher_files, tmp_path):
    # The same weights as Keras and as TFLite, the TFLite one 3x deeper (output_scale): relative
    # semantics align it back, so the average is the single teacher's label.
    _write_frames(tmp_path / "frames", 2, hw=(64, 96))
    src = FrameSource.from_entry({"path": str(tmp_path / "frames")}, "s")
    one = load_teacher(TeacherSpec(kind="keras", path=str(teacher_files["keras"]), semantics="relative"))
    other = load_teacher(TeacherSpec(kind="tflite", path=str(teacher_files["tflite"]), semantics="relative",
                                     output_scale=3.0))
    single = read_cache(label_source([one], src, tmp_path / "c1", log=lambda s: None))
    both = read_cache(label_source([one, other], src, tmp_path / "c2", log=lambda s: None))
    assert both[0]["teachers"][1]["output_scale"] == 3.0 and one.calls == 2 * 2 * 2 and other.calls == 2 * 2
    keep = np.asarray(both[3], bool)
    assert keep.mean() > 0.3 and not (keep & ~np.asarray(single[3], bool)).any()  # kept only where each teacher kept
    np.testing.assert_allclose(np.asarray(both[2], np.float32)[keep], np.asarray(single[2], np.float32)[keep], rtol=3e-3)
    with pytest.raises(UsageError, match="same semantics"):
        metric = load_teacher(TeacherSpec(kind="keras", path=str(teacher_files["keras"]), semantics="metric"))
        label_source([one, metric], src, tmp_path / "c3", log=lambda s: None)
