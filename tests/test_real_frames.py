"""Aspect-preserving, per-source evaluation on the real RGB-D frames (keras_depth.evaluation.real_frames):
the crop box and full-frame prediction by hand, the scores on synthetic frames against hand-computed
AbsRel/delta1, the loader on ../shared/data against its READMEs, and `keras-depth evaluate --data
real_rgbd` end to end (the evaluated files are left byte-identical)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from keras_depth.errors import UsageError
from keras_depth.evaluation.real_frames import (EXCLUDED, RealFrame, center_crop_box, format_frames_table,
                                                format_real_frames_table, load_real_frames, oracle_constant,
                                                predict_full, score_real_frames)

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "keras_depth" / "configs" / "quickstart_local.yaml"


@pytest.mark.parametrize("hw, aspect, box", [
    ((480, 640), (1, 1), (0, 80, 480, 480)),
    ((480, 640), (224, 224), (0, 80, 480, 480)),
    ((480, 640), (448, 640), (16, 0, 448, 640)),  # 640 * 448 / 640 = 448 rows, (480 - 448) / 2 = 16
    ((480, 640), (480, 640), (0, 0, 480, 640)),
    ((480, 640), (640, 480), (0, 140, 480, 360)),  # portrait: 480 * 480 / 640 = 360 columns
    ((375, 1242), (224, 224), (0, 433, 375, 375)),  # (1242 - 375) // 2 = 433
    ((224, 224), (448, 640), (33, 0, 157, 224)),  # 224 * 448 / 640 = 156.8 -> 157 rows, (224 - 157) // 2 = 33
])
def test_center_crop_box_by_hand(hw, aspect, box):
    assert center_crop_box(hw, aspect) == box


def test_center_crop_box_rejects_empty_sizes():
    with pytest.raises(ValueError, match="aspect_hw"):
        center_crop_box((480, 640), (0, 1))


def test_predict_full_nan_outside_the_crop_and_the_ramp_inside():
    image = np.zeros((4, 8, 3), np.uint8)
    image[..., 0] = np.arange(8)  # column index, to see which columns the predictor got
    seen = []

    def predict(rgb):
        seen.append(rgb.copy())
        return np.array([[1.0, 2.0], [1.0, 2.0]], np.float32)  # a ramp at a 2x2 "model resolution"

    full = predict_full(predict, (1, 1), image)  # square model: columns 2..5
    assert full.shape == (4, 8) and full.dtype == np.float32
    assert seen[0].shape == (4, 4, 3) and seen[0].dtype == np.uint8
    np.testing.assert_array_equal(seen[0][0, :, 0], [2, 3, 4, 5])
    assert np.isnan(full[:, :2]).all() and np.isnan(full[:, 6:]).all()
    # bilinear 2 -> 4 with pixel centres (j + 0.5): samples at x = -0.25, 0.25, 0.75, 1.25 (edges clamp)
    np.testing.assert_allclose(full[:, 2:6], np.tile([1.0, 1.25, 1.75, 2.0], (4, 1)), atol=1e-6)


def _frame(source: str, gt, pred, max_depth: float = 10.0) -> RealFrame:
    """The frame's image carries ``pred`` (x5 in the green channel) for ``_reader`` to read back."""
    gt = np.asarray(gt, np.float32)
    image = np.zeros(gt.shape + (3,), np.uint8)
    image[..., 1] = np.round(np.asarray(pred, np.float64) * 5)
    return RealFrame(source, f"{source}/frame", image, gt, max_depth)


def _reader(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 1].astype(np.float32) / 5


# a: all 8 pixels valid, pred off by 2x at gt 1 and 8 (the 2x2 case of test_metrics, twice).
# b: valid gt is 1, 2, 4, 10 (cap inclusive), 6; 0 is a hole, 20 above the cap, 0.05 below min_depth.
#    pred = 2 gt, except 0 at gt 6: a pixel without a positive prediction is not scored.
FRAME_A = ([[1, 2, 4, 8], [1, 2, 4, 8]], [[2, 2, 4, 4], [2, 2, 4, 4]])
FRAME_B = ([[0, 1, 2, 20], [0.05, 4, 10, 6]], [[0, 2, 4, 40], [0.1, 8, 20, 0]])


def test_means_over_sources_weight_each_source_alike_and_indoor_leaves_out_kitti():
    # s1: three copies of frame a (raw 0.375 / 0.5); s2 and kitti: frame b (raw 1 / 0, median 0 / 1)
    frames = [_frame("s1", *FRAME_A)] * 3 + [_frame("s2", *FRAME_B), _frame("kitti", *FRAME_B)]
    res = score_real_frames({"reader": (_reader, (2, 4))}, frames, constant=False)["reader"]
    assert list(res) == ["s1", "s2", "kitti", "all", "mean over sources", "indoor"]
    want = {"all": ((3 * 0.375 + 2) / 5, 3 * 0.5 / 5, (3 * 0.375) / 5, (3 * 0.5 + 2) / 5, 5),
            "mean over sources": ((0.375 + 2) / 3, 0.5 / 3, 0.375 / 3, (0.5 + 2) / 3, 5),
            "indoor": ((0.375 + 1) / 2, 0.5 / 2, 0.375 / 2, (0.5 + 1) / 2, 4)}
    for key, (raw_rel, raw_d1, med_rel, med_d1, n) in want.items():
        r = res[key]
        assert r["frames"] == n, key
        assert (r["raw"]["abs_rel"], r["raw"]["delta1"]) == (pytest.approx(raw_rel), pytest.approx(raw_d1)), key
        assert (r["median"]["abs_rel"], r["median"]["delta1"]) == (pytest.approx(med_rel), pytest.approx(med_d1)), key
    assert res["mean over sources"]["sources"] == 3 and res["indoor"]["sources"] == 2


def test_score_real_frames_by_hand():
    frames = [_frame("s1", *FRAME_A), _frame("s2", *FRAME_B), _frame("s3", np.zeros((2, 4)), np.ones((2, 4)))]
    # pooled valid gt: 1 1 1 2 2 2 4 4 4 6 8 8 10 -> median 4 (a strict cap at 10 would give 3)
    assert oracle_constant(frames) == 4.0
    res = score_real_frames({"reader": (_reader, (2, 4)), "reader_sq": (_reader, (3, 3))}, frames)
    assert list(res) == ["constant", "reader", "reader_sq"]
    assert list(res["reader"]) == ["s1", "s2", "s3", "all", "mean over sources", "indoor"]

    def check(label, source, raw, median, frames_n):
        r = res[label][source]
        assert r["frames"] == frames_n, (label, source)
        for key, want in (("raw", raw), ("median", median)):
            assert r[key]["abs_rel"] == pytest.approx(want[0], abs=1e-9), (label, source, key)
            assert r[key]["delta1"] == pytest.approx(want[1], abs=1e-9), (label, source, key)

    # the whole frame: a = |g-p|/g 1, 0, 0, 1/2 -> 0.375, ratios 2 1 1 2 -> 0.5; medians 3 and 3, so
    # median alignment changes nothing. b: raw p = 2g -> AbsRel 1, delta1 0; median 3 / 6 fixes it.
    check("reader", "s1", (0.375, 0.5), (0.375, 0.5), 1)
    check("reader", "s2", (1.0, 0.0), (0.0, 1.0), 1)
    check("reader", "all", (0.6875, 0.25), (0.1875, 0.75), 2)
    assert res["reader"]["s3"] == {"raw": {"abs_rel": None, "delta1": None},
                                   "median": {"abs_rel": None, "delta1": None}, "frames": 0}
    # a square model sees columns 1..2 only: a's gt 2, 4 is predicted exactly; b's gt 1, 2, 4, 10 at 2x
    check("reader_sq", "s1", (0.0, 1.0), (0.0, 1.0), 1)
    check("reader_sq", "s2", (1.0, 0.0), (0.0, 1.0), 1)
    # the constant 4 on the whole frame. a raw: |g-4|/g = 3, 1, 0, 1/2 -> 1.125; ratios 4 2 1 2 -> 0.25.
    # a median: its gt median 3: 2, 1/2, 1/4, 5/8 -> 0.84375; ratios 3, 1.5, 1.33, 2.67 -> 0.
    # b (gt 1 2 4 10 6, median 4): 3, 1, 0, 0.6, 1/3 -> 4.9333 / 5; ratios 4 2 1 2.5 1.5 -> 0.2.
    check("constant", "s1", (1.125, 0.25), (0.84375, 0.0), 1)
    check("constant", "s2", (4.9333333333 / 5, 0.2), (4.9333333333 / 5, 0.2), 1)
    check("constant", "all", ((1.125 + 4.9333333333 / 5) / 2, 0.225), ((0.84375 + 4.9333333333 / 5) / 2, 0.1), 2)

    table = format_real_frames_table(res).splitlines()
    assert table[0] == ("| model | s1 median | s1 raw | s2 median | s2 raw | s3 median | s3 raw | all median | all raw | "
                        "mean over sources median | mean over sources raw | indoor median | indoor raw |")
    assert table[2] == "| frames | 1 | 1 | 1 | 1 | 0 | 0 | 2 | 2 | 2 | 2 | 2 | 2 |"
    # one frame per scored source, so the means over sources equal the mean over frames here
    assert table[4] == ("| reader | 0.375 / 0.500 | 0.375 / 0.500 | 0.000 / 1.000 | 1.000 / 0.000 | - | - | 0.188 / 0.750 | "
                        "0.688 / 0.250 | 0.188 / 0.750 | 0.688 / 0.250 | 0.188 / 0.750 | 0.688 / 0.250 |")
    assert score_real_frames({}, frames, constant=False) == {}
    with pytest.raises(ValueError, match="constant"):
        score_real_frames({"constant": (_reader, (1, 1))}, frames)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.05, 20.0), st.sampled_from([(1, 1), (3, 4), (2, 1), (6, 8), (1, 3)]))
def test_median_alignment_removes_any_scale(scale, aspect):
    image = np.random.default_rng(0).integers(10, 200, (6, 8, 3)).astype(np.uint8)
    gt = image[..., 0].astype(np.float32) / 20  # 0.5 .. 10 m, all valid

    def predict(rgb):
        return rgb[..., 0].astype(np.float32) / 20 * scale  # the crop's gt, scaled

    res = score_real_frames({"m": (predict, aspect)}, [RealFrame("s", "f", image, gt, 10.0)], constant=False)
    assert res["m"]["s"]["median"]["abs_rel"] == pytest.approx(0.0, abs=1e-6)
    assert res["m"]["s"]["median"]["delta1"] == 1.0


def test_missing_shared_folder_is_a_one_line_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_DEPTH_SHARED", str(tmp_path / "nowhere"))
    with pytest.raises(UsageError) as e:
        load_real_frames()
    assert str(tmp_path / "nowhere" / "data" / "rgbd") in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(UsageError, match="'mars'"):
        load_real_frames(["mars"])


# per source: (frames, resolutions, min, max) of the valid depth in metres, from each PROVENANCE.md
EXPECTED = {
    "redwood": (5, {(480, 640)}, 0.95, 2.71),
    "tum": (3, {(480, 640)}, 0.96, 10.50),
    "sun": (1, {(480, 640)}, 1.05, 9.88),
    "nyu": (1, {(224, 224)}, 0.71, 5.88),
    "kitti": (6, {(375, 1242), (370, 1224)}, 4.2, 84.9),
}


@pytest.mark.shared
def test_loader_counts_and_ranges_match_the_readmes(shared_data):
    frames = load_real_frames()
    for source, (count, sizes, lo, hi) in EXPECTED.items():
        mine = [f for f in frames if f.source == source]
        assert len(mine) == count, source
        assert {f.depth.shape for f in mine} == sizes, source
        d = np.concatenate([f.depth[f.depth > 0] for f in mine])
        assert lo <= d.min() and d.max() <= hi, (source, d.min(), d.max())
        for f in mine:
            assert f.image.dtype == np.uint8 and f.image.shape == f.depth.shape + (3,) and f.depth.dtype == np.float32
            assert f.max_depth == (80.0 if source == "kitti" else 10.0)
    by_name = {f.name: f for f in frames}
    redwood0 = by_name["open3d_redwood_tum_sun_nyuraw/color/00000.jpg"].depth
    assert np.median(redwood0[redwood0 > 0]) == pytest.approx(1.861, abs=0.001)
    assert (redwood0 > 0).mean() == pytest.approx(0.87, abs=0.01)
    sun = by_name["open3d_redwood_tum_sun_nyuraw/other_formats/SUN_color.jpg"].depth  # the 16-bit rotation
    assert np.median(sun[sun > 0]) == pytest.approx(2.723, abs=0.001)
    assert (by_name["kitti_lidar_sparse/training/image_2/000000.png"].depth > 0).mean() == pytest.approx(0.0446, abs=0.001)
    assert float(by_name["nyu_fastdepth_sample/rgb.npy"].depth.mean()) == pytest.approx(3.087, abs=0.001)
    for name in EXCLUDED:  # left out on purpose, and present
        assert (shared_data / "rgbd" / name).exists() and name not in by_name
    assert [f.source for f in load_real_frames(["sun", "redwood"])] == ["redwood"] * 5 + ["sun"]
    assert "| kitti | 6 | 375x1242, 370x1224 |" in format_frames_table(frames)


def _sha(paths):
    return {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


@pytest.mark.shared
def test_evaluate_cli_real_rgbd_per_source_and_files_untouched(tmp_path, capsys):
    from export.variants import write_tflite
    from keras_depth.cli import main
    from keras_depth.runtime.manifest import read_manifest
    from keras_depth.runtime.peers import fastdepth_manifest, peer_path

    # one of "our" files: the peer's bytes with an embedded manifest and one beside it, which the
    # val path of evaluate would record metrics.eval into
    run_dir = tmp_path / "run"
    ours = run_dir / "model_int8_ptq.tflite"
    write_tflite(ours, peer_path("fastdepth_224_int8").read_bytes(), fastdepth_manifest(ours.name))
    files = [ours, ours.with_suffix(".json"), peer_path("fastdepth_224_int8")]
    before = _sha(files)
    out = tmp_path / "report"
    rc = main(["evaluate", str(LOCAL), "--output-dir", str(run_dir), "--data", "real_rgbd", "--peer", "fastdepth_224_int8",
               "--tflite", str(ours), "--no-baseline", "--out", str(out)])
    assert rc == 0
    assert _sha(files) == before
    assert "eval" not in read_manifest(ours).metrics
    report = json.loads((out / "report.json").read_text())
    res = report["results"]
    assert list(res) == ["tflite int8_ptq", "peer fastdepth_224_int8"]  # no constant row with --no-baseline
    peer = res["peer fastdepth_224_int8"]
    assert list(peer) == ["redwood", "tum", "sun", "nyu", "kitti", "rooms_hololens", "all", "mean over sources", "indoor"]
    assert [peer[s]["frames"] for s in peer] == [5, 3, 1, 1, 6, 20, 36, 36, 30]
    assert res["tflite int8_ptq"] == peer  # the same bytes, the same numbers
    # its own NYU frame (224x224: the crop is the whole frame) scores as PROVENANCE says: AbsRel 0.140, d1 0.774
    assert peer["nyu"]["raw"]["abs_rel"] == pytest.approx(0.140, abs=0.005)
    assert peer["nyu"]["raw"]["delta1"] == pytest.approx(0.774, abs=0.01)
    assert report["models"]["peer fastdepth_224_int8"]["input_hw"] == [224, 224]
    md = (out / "report.md").read_text()
    for source in ("redwood", "tum", "sun", "nyu", "kitti"):
        assert f"| {source} | " in md  # a row per source in the frames table
    assert "| peer fastdepth_224_int8 |" in md and "ICL-NUIM" in md
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.md'}" in printed
    print(format_real_frames_table(res))  # the numbers, for the log (pytest -s)
