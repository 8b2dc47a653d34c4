"""Readers, one test per format, on the real samples in ../shared/data where the format is there and on
small files written in the exact on-disk layout where it is not. Expected figures come from the
PROVENANCE.md files beside the data."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_depth.data.readers import decode
from keras_depth.data.readers.source import BAD_DATA, bad_data_counts, reraise_data_error
from keras_depth.data.registry import build_dataset
from keras_depth.errors import DataError, UsageError
from keras_depth.imagefiles import read_rgb
from keras_depth.spec import AFFINE_DISPARITY, METRIC, RELATIVE


def centred(calibration: list) -> np.ndarray:
    """A calibration's [fx, fy, cx, cy] (pixel centres at integers, OpenCV) as samples carry it:
    pixel centres at j + 0.5 (keras_depth.geometry)."""
    return np.asarray(calibration, np.float64) + [0.0, 0.0, 0.5, 0.5]


def samples(entry: dict, **context) -> list[dict]:
    return list(build_dataset(entry, **context).as_numpy_iterator())


def valid_stats(s: dict) -> tuple[float, float, float, float]:
    """(min, max, median) of valid depth and the valid fraction."""
    d, m = s["depth"][..., 0], s["mask"][..., 0] > 0.5
    assert s["depth"].dtype == np.float32 and s["mask"].dtype == np.float32 and s["image"].dtype == np.uint8
    assert np.isfinite(s["depth"]).all() and (s["depth"][~m] == 0).all() and set(np.unique(s["mask"])) <= {0.0, 1.0}
    return float(d[m].min()), float(d[m].max()), float(np.median(d[m])), float(m.mean())


def link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src, dst)


@pytest.fixture(autouse=True)
def _fresh_bad_data_log():
    BAD_DATA.reset()
    yield
    BAD_DATA.reset()


# --- TUM RGB-D: /5000, association by timestamp ----------------------------------------------------

def test_tum_sequence_associates_by_timestamp_and_decodes_fr2(shared_data, tmp_path):
    src = shared_data / "rgbd/slambook2/tum_fr2_desk_ch7"
    seq = tmp_path / "rgbd_dataset_freiburg2_desk"
    # rgb at 30 Hz, depth offset by a few ms; frame 2's depth is listed first to exercise sorting,
    # and an extra colour frame has no depth within 20 ms.
    link(src / "1.png", seq / "rgb/1305031102.175304.png")
    link(src / "2.png", seq / "rgb/1305031102.211214.png")
    link(src / "1.png", seq / "rgb/1305031105.000000.png")
    link(src / "1_depth.png", seq / "depth/1305031102.160407.png")
    link(src / "2_depth.png", seq / "depth/1305031102.226738.png")
    (seq / "rgb.txt").write_text("# color images\n# timestamp filename\n1305031102.175304 rgb/1305031102.175304.png\n"
                                 "1305031102.211214 rgb/1305031102.211214.png\n1305031105.000000 rgb/1305031105.000000.png\n")
    (seq / "depth.txt").write_text("# depth maps\n1305031102.226738 depth/1305031102.226738.png\n"
                                   "1305031102.160407 depth/1305031102.160407.png\n")
    out = samples({"type": "tum", "path": str(seq)})
    assert len(out) == 2
    # PROVENANCE: frame 1 0.969..8.56 m, median 1.50, 66.7 % valid; frame 2 0.990..10.50, median 1.58, 65.6 %.
    for s, (lo, hi, med, frac) in zip(out, [(0.969, 8.56, 1.50, 0.667), (0.990, 10.50, 1.58, 0.656)]):
        got = valid_stats(s)
        assert got[0] == pytest.approx(lo, abs=2e-3) and got[1] == pytest.approx(hi, abs=1e-2)
        assert got[2] == pytest.approx(med, abs=0.01) and got[3] == pytest.approx(frac, abs=2e-3)
        assert s["image"].shape == (480, 640, 3) and s["semantics"] == METRIC
        np.testing.assert_allclose(s["intrinsics"], centred([520.9, 521.0, 325.1, 249.7]))  # fr2, from the folder name


def test_tum_association_is_one_to_one_and_closest_first():
    from keras_depth.data.readers.tum import associate

    rgb = [(0.000, "a"), (0.033, "b"), (0.066, "c")]
    depth = [(0.030, "x"), (0.040, "y")]
    assert associate(rgb, depth, 0.02) == [(1, 0)]  # 'c' is 26 ms from 'y': too far; 'y' is not reused
    assert associate(rgb, depth, 0.05) == [(1, 0), (2, 1)]


# --- KITTI: 16-bit PNG / 256, 0 = invalid --------------------------------------------------------------

def test_kitti_annotated_depth(shared_data):
    out = samples({"type": "kitti_depth", "path": str(shared_data / "rgbd/kitti_annotated")})
    assert len(out) == 3
    # PROVENANCE: 0000000005: 5.33..84.89 m, median 13.84, 19.5 %; 0000000050: 5.20..83.23, 20.6 %; 0000000100: 5.13..80.81, 18.3 %.
    expected = [(5.33, 84.89, 0.195), (5.20, 83.23, 0.206), (5.13, 80.81, 0.183)]
    for s, (lo, hi, frac) in zip(out, expected):
        got = valid_stats(s)
        assert got[0] == pytest.approx(lo, abs=0.01) and got[1] == pytest.approx(hi, abs=0.01)
        assert got[3] == pytest.approx(frac, abs=0.002)
        assert s["image"].shape == (375, 1242, 3) and s["semantics"] == METRIC
        # No GT in the sky: rows above ~119 are empty.
        assert s["mask"][:110].sum() == 0
        np.testing.assert_allclose(s["intrinsics"], centred([707.0493, 707.0493, 604.0814, 180.5066]), rtol=1e-6)
    assert valid_stats(out[0])[2] == pytest.approx(13.84, abs=0.01)
    # Quantisation: every value is a multiple of 1/256 m.
    d = out[0]["depth"][out[0]["mask"] > 0]
    np.testing.assert_allclose(d * 256, np.round(d * 256), atol=1e-3)


def test_kitti_projected_lidar_with_object_calib(shared_data):
    out = samples({"type": "kitti_depth", "path": str(shared_data / "rgbd/kitti_lidar_sparse")})
    assert [s["image"].shape[:2] for s in out] == [(370, 1224), (375, 1242), (375, 1242)]
    # PROVENANCE: 000000 4.46 % valid, 4.22..72.73 m, median 11.67; 000001 3.99 %, 4.77..76.73; 000002 4.33 %, 4.50..79.21.
    for s, (lo, hi, frac) in zip(out, [(4.22, 72.73, 0.0446), (4.77, 76.73, 0.0399), (4.50, 79.21, 0.0433)]):
        got = valid_stats(s)
        assert got[0] == pytest.approx(lo, abs=0.01) and got[1] == pytest.approx(hi, abs=0.01)
        assert got[3] == pytest.approx(frac, abs=5e-4)
    assert valid_stats(out[0])[2] == pytest.approx(11.67, abs=0.01)
    np.testing.assert_allclose(out[0]["intrinsics"], centred([707.0493, 707.0493, 604.0814, 180.5066]), rtol=1e-6)  # calib P2


def test_kitti_depth_benchmark_layout(shared_data, tmp_path):
    """DRIVE/proj_depth/groundtruth/image_02 + the raw colour frames and calib_cam_to_cam.txt."""
    date, drive = "2011_09_26", "2011_09_26_drive_0001_sync"
    link(shared_data / "rgbd/kitti_annotated/depth/0000000005.png", tmp_path / f"train/{drive}/proj_depth/groundtruth/image_02/0000000005.png")
    link(shared_data / "rgbd/kitti_annotated/rgb/0000000005.png", tmp_path / f"raw/{date}/{drive}/image_02/data/0000000005.png")
    (tmp_path / f"raw/{date}/calib_cam_to_cam.txt").write_text(
        "calib_time: 09-Jan-2012 13:57:47\nP_rect_02: 7.215377e+02 0.000000e+00 6.095593e+02 4.485728e+01 0.000000e+00 "
        "7.215377e+02 1.728540e+02 2.163791e-01 0.000000e+00 0.000000e+00 1.000000e+00 2.745884e-03\n")
    (s,) = samples({"type": "kitti_depth", "path": str(tmp_path / "train"), "raw_root": str(tmp_path / "raw")})
    assert valid_stats(s)[:2] == pytest.approx((5.33, 84.89), abs=0.01)
    np.testing.assert_allclose(s["intrinsics"], centred([721.5377, 721.5377, 609.5593, 172.854]), rtol=1e-6)


# --- Redwood / SUN / NYU: PNG and npy -----------------------------------------------------------------

def test_redwood_folder_pairs_millimetres(shared_data):
    out = samples({"type": "folder_pairs", "path": str(shared_data / "rgbd/open3d_redwood_tum_sun_nyuraw"), "format": "png16",
                   "scale": 1000, "intrinsics": [525.0, 525.0, 319.5, 239.5]})
    assert len(out) == 5
    lo, hi, med, frac = valid_stats(out[0])  # PROVENANCE: frame 0: 0.955..2.702 m, median 1.861, 0.87 valid
    assert (lo, hi, med) == pytest.approx((0.955, 2.702, 1.861), abs=1e-3) and frac == pytest.approx(0.87, abs=0.005)


def test_sun_bit_rotated_png_and_tum_png_through_a_manifest(shared_data, tmp_path):
    other = shared_data / "rgbd/open3d_redwood_tum_sun_nyuraw/other_formats"
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "rgb,depth,scale,format,semantics\n"
        f"{other}/SUN_color.jpg,{other}/SUN_depth.png,,sunrgbd,metric\n"
        f"{other}/TUM_color.png,{other}/TUM_depth.png,5000,png16,metric\n"
    )
    sun, tum = samples({"type": "manifest", "path": str(manifest)})
    # PROVENANCE: SUN 1.057..9.870 m, median 2.723, 0.82 valid; TUM 1.464..9.331, median 2.415, 0.81.
    for s, ref in ((sun, (1.057, 9.870, 2.723, 0.82)), (tum, (1.464, 9.331, 2.415, 0.81))):
        got = valid_stats(s)
        assert got[:3] == pytest.approx(ref[:3], abs=2e-3) and got[3] == pytest.approx(ref[3], abs=0.006)


def test_nyu_npy_sample_through_a_jsonl_manifest(shared_data, tmp_path):
    nyu = shared_data / "rgbd/nyu_fastdepth_sample"
    (tmp_path / "m.jsonl").write_text(
        f'{{"rgb": "{nyu}/rgb.npy", "depth": "{nyu}/depth.npy", "format": "npy", "semantics": "metric"}}\n')
    (s,) = samples({"type": "manifest", "path": str(tmp_path / "m.jsonl")})
    lo, hi, _, frac = valid_stats(s)  # PROVENANCE: 0.720..5.875 m, mean 3.087, dense
    assert (lo, hi) == pytest.approx((0.720, 5.875), abs=1e-3) and frac == 1.0
    assert float(s["depth"].mean()) == pytest.approx(3.087, abs=1e-3)
    rgb = np.load(nyu / "rgb.npy")
    np.testing.assert_array_equal(s["image"], np.round(rgb * 255).astype(np.uint8))


def _write_nyu_v73(path: Path, images_hwc: np.ndarray, depths_hw: np.ndarray) -> None:
    """Write the labeled file as MATLAB does: HDF5 with a 512-byte MAT header userblock and every
    array in column-major order, i.e. axes reversed as h5py sees them."""
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("images", data=np.ascontiguousarray(images_hwc.transpose(0, 3, 2, 1)))  # N,H,W,3 -> N,3,W,H
        f.create_dataset("depths", data=np.ascontiguousarray(depths_hw.transpose(0, 2, 1)).astype(np.float32))
        f.create_dataset("rawDepths", data=np.ascontiguousarray(np.where(depths_hw > 2.0, depths_hw, 0).transpose(0, 2, 1)).astype(np.float32))
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    with open(path, "r+b") as f:
        f.write(header.ljust(116) + b"\x00" * 8 + b"\x00\x02" + b"IM")


def test_nyu_labeled_mat_v73(shared_data, tmp_path):
    nyu = shared_data / "rgbd/nyu_fastdepth_sample"
    rgb = np.round(np.load(nyu / "rgb.npy") * 255).astype(np.uint8)[:, :200]  # non-square, so a transpose slip shows
    depth = np.load(nyu / "depth.npy")[:, :200]
    images = np.stack([rgb, rgb[::-1]])
    depths = np.stack([depth, depth[::-1]])
    path = tmp_path / "nyu_depth_v2_labeled.mat"
    _write_nyu_v73(path, images, depths)
    out = samples({"type": "nyu_mat", "path": str(path)})
    assert len(out) == 2
    for s, img, d in zip(out, images, depths):
        assert s["image"].shape == (224, 200, 3)
        np.testing.assert_array_equal(s["image"], img)
        np.testing.assert_array_equal(s["depth"][..., 0], d)
        lo, hi, _, frac = valid_stats(s)
        assert frac == 1.0 and lo >= 0.720 - 1e-3 and hi <= 5.875 + 1e-3  # PROVENANCE range of the NYU sample
        assert s["intrinsics"][0] == pytest.approx(518.8579)
    (raw,) = samples({"type": "nyu_mat", "path": str(path), "depth_key": "rawDepths", "indices": [1]})
    assert valid_stats(raw)[0] > 2.0 and 0 < valid_stats(raw)[3] < 1


def test_nyu_folder_bts_sync_layout(shared_data, tmp_path):
    import cv2

    rgb = shared_data / "rgbd/open3d_redwood_tum_sun_nyuraw/color/00000.jpg"
    link(rgb, tmp_path / "sync/bedroom_0001/rgb_00012.jpg")
    link(shared_data / "rgbd/open3d_redwood_tum_sun_nyuraw/depth/00000.png", tmp_path / "sync/bedroom_0001/sync_depth_00012.png")
    (s,) = samples({"type": "nyu_folder", "path": str(tmp_path / "sync")})
    assert valid_stats(s)[:2] == pytest.approx((0.955, 2.702), abs=1e-3)  # millimetres / 1000
    assert cv2 is not None


# --- DIODE, Sintel: not in shared data; small files in the exact layout --------------------------------

def test_diode_npy_depth_and_mask(tmp_path):
    import cv2

    scan = tmp_path / "val/indoors/scene_00019/scan_00183"
    scan.mkdir(parents=True)
    h, w = 24, 32
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.6, 50.0, (h, w, 1)).astype(np.float32)  # DIODE stores [768, 1024, 1] float32 metres
    mask = (rng.uniform(size=(h, w)) > 0.2).astype(np.float32)  # [768, 1024], 1 = valid
    depth[..., 0][mask == 0] = 0.0
    cv2.imwrite(str(scan / "00019_00183_indoors_000_010.png"), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    np.save(scan / "00019_00183_indoors_000_010_depth.npy", depth)
    np.save(scan / "00019_00183_indoors_000_010_depth_mask.npy", mask)
    (s,) = samples({"type": "diode", "path": str(tmp_path / "val")})
    np.testing.assert_array_equal(s["mask"][..., 0], mask)
    np.testing.assert_allclose(s["depth"], depth)
    assert valid_stats(s)[0] >= 0.6 and valid_stats(s)[1] <= 50.0
    np.testing.assert_allclose(s["intrinsics"], centred([886.81, 927.06, 512, 384]))


def _write_dpt(path: Path, depth: np.ndarray) -> None:
    with open(path, "wb") as f:
        f.write(b"PIEH")  # == float32 202021.25 little-endian
        f.write(np.array([depth.shape[1], depth.shape[0]], "<i4").tobytes())
        f.write(depth.astype("<f4").tobytes())


def test_sintel_dpt_and_cam(tmp_path, shared_data):
    assert np.frombuffer(b"PIEH", "<f4")[0] == np.float32(202021.25)
    root = tmp_path / "training"
    frame = shared_data / "video/sintel_frames/frame_0016.png"  # 1024x436, real Sintel pixels
    link(frame, root / "final/alley_1/frame_0001.png")
    (root / "depth/alley_1").mkdir(parents=True)
    (root / "camdata_left/alley_1").mkdir(parents=True)
    yy, xx = np.mgrid[0:436, 0:1024]
    depth = (1.0 + xx / 100.0 + yy / 1000.0).astype(np.float32)
    depth[:10] = 1e10  # sky
    _write_dpt(root / "depth/alley_1/frame_0001.dpt", depth)
    k = np.array([[1120.0, 0, 511.5], [0, 1120.0, 217.5], [0, 0, 1]])
    with open(root / "camdata_left/alley_1/frame_0001.cam", "wb") as f:
        f.write(b"PIEH" + k.astype("<f8").tobytes() + np.eye(3, 4).astype("<f8").tobytes())
    (s,) = samples({"type": "sintel", "path": str(root), "max_depth": 72.0})
    assert s["image"].shape == (436, 1024, 3) and s["semantics"] == RELATIVE
    np.testing.assert_array_equal(s["mask"][:10], 0)
    np.testing.assert_allclose(s["depth"][10:, :, 0], depth[10:], rtol=1e-6)
    assert s["depth"][12, 5, 0] == pytest.approx(1.0 + 0.05 + 0.012)  # row-major, top row first
    np.testing.assert_allclose(s["intrinsics"], centred([1120.0, 1120.0, 511.5, 217.5]))
    np.testing.assert_array_equal(decode.read_dpt(root / "depth/alley_1/frame_0001.dpt"), depth)


# --- PFM and Middlebury ---------------------------------------------------------------------------------

MOTORCYCLE_CALIB = ("cam0=[994.978 0 311.193; 0 994.978 254.877; 0 0 1]\ncam1=[994.978 0 342.279; 0 994.978 254.877; 0 0 1]\n"
                    "doffs=31.086\nbaseline=193.001\nwidth=741\nheight=500\nndisp=70\n")


def _write_pfm_by_hand(path: Path, arr: np.ndarray, little_endian: bool) -> None:
    """PFM as the spec says: header, then rows bottom-to-top, endianness from the scale's sign."""
    scale = b"-1.0" if little_endian else b"1.0"
    body = arr[::-1].astype("<f4" if little_endian else ">f4").tobytes()
    path.write_bytes(b"Pf\n%d %d\n%s\n" % (arr.shape[1], arr.shape[0], scale) + body)


@pytest.mark.parametrize("little_endian", [True, False])
def test_pfm_rows_bottom_to_top_and_endianness(tmp_path, little_endian):
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    arr[0, 0] = np.inf
    _write_pfm_by_hand(tmp_path / "d.pfm", arr, little_endian)
    np.testing.assert_array_equal(decode.read_pfm(tmp_path / "d.pfm"), arr)


def _motorcycle_scene(shared_data: Path, scene: Path, calib: bool = True, right_disp: bool = False) -> np.ndarray:
    src = shared_data / "stereo/middlebury2014_motorcycle"
    disp = np.load(src / "motorcycle_disp.npz", allow_pickle=False)["arr_0"]
    link(src / "motorcycle_left.png", scene / "im0.png")
    link(src / "motorcycle_right.png", scene / "im1.png")
    _write_pfm_by_hand(scene / "disp0GT.pfm", disp, little_endian=True)
    if right_disp:
        _write_pfm_by_hand(scene / "disp1GT.pfm", disp, little_endian=True)
    if calib:
        (scene / "calib.txt").write_text(MOTORCYCLE_CALIB)
    return disp


def test_middlebury_pfm_to_metric_depth_through_calib(shared_data, tmp_path):
    disp = _motorcycle_scene(shared_data, tmp_path / "Motorcycle-perfect")
    (s,) = samples({"type": "middlebury", "path": str(tmp_path)})
    lo, hi, _, frac = valid_stats(s)
    # PROVENANCE: 92.7 % finite; implied depth 2.11..5.02 m; Z[mm] = baseline * f / (disp + doffs).
    assert frac == pytest.approx(0.927, abs=0.001) and (lo, hi) == pytest.approx((2.11, 5.02), abs=0.01)
    r, c = 250, 370
    assert np.isfinite(disp[r, c])
    assert s["depth"][r, c, 0] == pytest.approx(193.001 * 994.978 / (disp[r, c] + 31.086) / 1000.0, rel=1e-5)
    assert s["semantics"] == METRIC and s["image"].shape == (500, 741, 3)
    np.testing.assert_allclose(s["intrinsics"], centred([994.978, 994.978, 311.193, 254.877]))
    # Without calibration the same file is disparity, known up to scale and shift.
    (d,) = samples({"type": "middlebury", "path": str(tmp_path), "calib": None})
    assert d["semantics"] == AFFINE_DISPARITY
    assert valid_stats(d)[:2] == pytest.approx((7.19, 59.91), abs=0.01)  # PROVENANCE: finite range 7.19..59.91 px


def test_middlebury_2006_png_disparity(shared_data):
    (s,) = samples({"type": "middlebury", "path": str(shared_data / "stereo/middlebury2006_aloe"), "left": "aloeL.jpg",
                    "disparity": "aloeGT.png", "calib": None})
    lo, hi, med, frac = valid_stats(s)  # PROVENANCE: 43..211 px, median 59, 3.5 % unknown
    assert (lo, hi, med) == (43.0, 211.0, 59.0) and frac == pytest.approx(0.965, abs=0.001)
    assert s["semantics"] == AFFINE_DISPARITY and s["image"].shape == (1110, 1282, 3)


def test_sceneflow_layout(tmp_path):
    import cv2

    img = tmp_path / "frames_cleanpass/TRAIN/A/0000/left/0006.png"
    img.parent.mkdir(parents=True)
    cv2.imwrite(str(img), np.full((6, 8, 3), 100, np.uint8))
    disp = np.linspace(1, 40, 48, dtype=np.float32).reshape(6, 8)
    (tmp_path / "disparity/TRAIN/A/0000/left").mkdir(parents=True)
    _write_pfm_by_hand(tmp_path / "disparity/TRAIN/A/0000/left/0006.pfm", disp, little_endian=True)
    (s,) = samples({"type": "sceneflow", "path": str(tmp_path)})
    np.testing.assert_allclose(s["depth"][..., 0], disp)
    assert s["semantics"] == AFFINE_DISPARITY


# --- Stereo pairs ---------------------------------------------------------------------------------------

def test_stereo_folder_kitti_odometry_gray(shared_data):
    (s,) = samples({"type": "stereo_folder", "path": str(shared_data / "stereo/kitti_odometry_gray"),
                    "focal_length": 718.856, "baseline": 0.537})
    assert s["image"].shape == (376, 1241, 3) and s["image_right"].shape == (376, 1241, 3)
    assert (s["image"][..., 0] == s["image"][..., 2]).all()  # grey replicated to RGB
    assert s["baseline"] == pytest.approx(0.537) and s["intrinsics"][0] == pytest.approx(718.856)
    assert s["mask"].sum() == 0 and s["mask_right"].sum() == 0  # no GT


def test_kitti_stereo_odometry_layout_baseline_from_calib(shared_data, tmp_path):
    seq = tmp_path / "sequences/00"
    src = shared_data / "stereo/kitti_odometry_gray"
    link(src / "left.png", seq / "image_0/000000.png")
    link(src / "right.png", seq / "image_1/000000.png")
    calib = (shared_data / "rgbd/kitti_lidar_sparse/training/calib/000000.txt").read_text()
    (seq / "calib.txt").write_text(calib)  # P0, P1 of the same rig: baseline 379.7842 / 707.0493
    (s,) = samples({"type": "kitti_stereo", "path": str(tmp_path), "cameras": "gray"})
    assert s["baseline"] == pytest.approx(379.7842 / 707.0493, rel=1e-6)  # 0.537 m
    np.testing.assert_allclose(s["intrinsics"], centred([707.0493, 707.0493, 604.0814, 180.5066]), rtol=1e-6)


def test_middlebury_stereo_pair_with_both_disparities(shared_data, tmp_path):
    _motorcycle_scene(shared_data, tmp_path / "Motorcycle", right_disp=True)
    (s,) = samples({"type": "middlebury_stereo", "path": str(tmp_path)})
    assert s["baseline"] == pytest.approx(0.193001)
    assert s["intrinsics_right"][2] == pytest.approx(342.279 + 0.5)  # cam1's principal point, at pixel centres
    assert valid_stats(s)[3] == pytest.approx(0.927, abs=0.001) and s["mask_right"].mean() > 0.9


# --- Frame sequences ------------------------------------------------------------------------------------

def test_video_file_frames(shared_data):
    from keras_depth.data.readers.video import iter_frames, video_info

    path = str(shared_data / "video/vtest_static_camera/vtest.avi")
    info = video_info(path)
    assert (info["frames"], info["width"], info["height"], info["fps"]) == (795, 768, 576, 10.0)  # PROVENANCE
    frames = list(iter_frames(path, max_frames=3))
    assert [i for i, _ in frames] == [0, 1, 2] and frames[0][1].shape == (576, 768, 3) and frames[0][1].dtype == np.uint8
    # Static camera: consecutive frames differ by a few grey levels on average (PROVENANCE: 2.26).
    diff = np.abs(frames[1][1].astype(np.int16) - frames[0][1].astype(np.int16)).mean()
    assert diff < 5.0
    out = samples({"type": "frames", "path": path, "stride": 10, "max_frames": 2})
    assert [int(s["frame_index"]) for s in out] == [0, 10] and out[0]["mask"].sum() == 0


def test_frame_folder(shared_data):
    out = samples({"type": "frames", "path": str(shared_data / "video/sintel_frames")})
    assert len(out) == 10 and out[0]["image"].shape == (436, 1024, 3)  # PROVENANCE: 10 PNGs, 1024x436
    assert [int(s["frame_index"]) for s in out] == list(range(10))


# --- Bad data: skip, count, one warning naming the file; strict fails with the path --------------------

def _good_pair(folder: Path, name: str, h: int = 8, w: int = 10, value: int = 1500) -> None:
    import cv2

    (folder / "rgb").mkdir(parents=True, exist_ok=True)
    (folder / "depth").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / "rgb" / f"{name}.png"), np.full((h, w, 3), 128, np.uint8))
    cv2.imwrite(str(folder / "depth" / f"{name}.png"), np.full((h, w), value, np.uint16))


def test_bad_files_are_skipped_counted_and_named(tmp_path, caplog):
    _good_pair(tmp_path, "000")
    _good_pair(tmp_path, "001")
    data = (tmp_path / "depth/001.png").read_bytes()
    (tmp_path / "depth/001.png").write_bytes(data[: len(data) // 2])  # truncated PNG
    _good_pair(tmp_path, "002", h=4, w=10)
    _good_pair(tmp_path, "003")
    _good_pair(tmp_path, "004")
    import cv2

    cv2.imwrite(str(tmp_path / "depth/002.png"), np.full((8, 10), 1500, np.uint16))  # image 10x4, depth 10x8
    (tmp_path / "depth/003.png").unlink()
    (tmp_path / "depth/003.npy").write_bytes(b"")  # a depth that is not an array
    (tmp_path / "rgb/005.png").write_bytes((tmp_path / "rgb/000.png").read_bytes())  # no depth at all: missing pair
    with caplog.at_level(logging.WARNING, logger="keras_depth.data"):
        ds = build_dataset({"type": "folder_pairs", "path": str(tmp_path)})
        out = list(ds.as_numpy_iterator())
        out2 = list(ds.as_numpy_iterator())  # a second epoch counts again but does not warn again
    assert len(out) == len(out2) == 2
    assert all(valid_stats(s)[0] == pytest.approx(1.5) for s in out)
    assert bad_data_counts()["folder_pairs"] == 1 + 2 * 3
    text = caplog.text
    for name, why in (("depth/001.png", "truncated PNG"), ("rgb/002.png", "size mismatch"), ("depth/003.npy", "npy"),
                      ("rgb/005.png", "missing pair")):
        assert str(tmp_path / name) in text and why in text
    assert len(caplog.records) == 4


def test_nan_inf_and_negative_depth_are_bad(tmp_path, caplog):
    from keras_depth.data.readers.source import check_sample

    img = np.zeros((2, 2, 3), np.uint8)
    for bad, why in ((np.nan, "NaN/Inf"), (np.inf, "NaN/Inf"), (-1.0, "negative")):
        depth = np.ones((2, 2), np.float32)
        depth[0, 1] = bad
        with pytest.raises(DataError, match=why):
            check_sample({"image": img, "depth": depth, "semantics": 0}, "x.npy")
    rgb = tmp_path / "rgb"
    rgb.mkdir()
    (tmp_path / "depth").mkdir()
    import cv2

    for i, v in enumerate([1.0, np.nan]):
        cv2.imwrite(str(rgb / f"{i}.png"), img)
        np.save(tmp_path / "depth" / f"{i}.npy", np.full((2, 2), v, np.float32))
    with caplog.at_level(logging.WARNING, logger="keras_depth.data"):
        out = samples({"type": "folder_pairs", "path": str(tmp_path)})
    assert len(out) == 1 and str(tmp_path / "rgb/1.png") in caplog.text and "NaN" in caplog.text


def test_strict_fails_on_the_first_bad_file_with_its_path(tmp_path):
    _good_pair(tmp_path, "000")
    _good_pair(tmp_path, "001")
    p = tmp_path / "depth/001.png"
    p.write_bytes(p.read_bytes()[:40])
    ds = build_dataset({"type": "folder_pairs", "path": str(tmp_path)}, strict=True)
    with pytest.raises(DataError, match=str(p)):
        try:
            list(ds.as_numpy_iterator())
        except tf.errors.OpError as e:
            reraise_data_error(e)
            raise
    (tmp_path / "rgb/002.png").write_bytes((tmp_path / "rgb/000.png").read_bytes())
    with pytest.raises(DataError, match="missing pair"):
        build_dataset({"type": "folder_pairs", "path": str(tmp_path)}, strict=True)


def test_truncated_jpeg_is_detected(shared_data, tmp_path):
    data = (shared_data / "video/bedroom_frames/00000.jpg").read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated JPEG"):
        read_rgb(tmp_path / "t.jpg")
    assert read_rgb(shared_data / "video/bedroom_frames/00000.jpg").shape == (540, 960, 3)


def test_usage_errors_name_the_option(tmp_path):
    with pytest.raises(UsageError, match="folder not found"):
        build_dataset({"type": "tum", "path": str(tmp_path / "nope")})
    with pytest.raises(UsageError, match="unknown option"):
        build_dataset({"type": "kitti_depth", "path": str(tmp_path), "scael": 3})
    (tmp_path / "m.csv").write_text("rgb,depth,semantics\na.png,b.png,metres\n")
    with pytest.raises(UsageError, match="semantics"):
        build_dataset({"type": "manifest", "path": str(tmp_path / "m.csv")})
