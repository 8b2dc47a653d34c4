"""Rectified stereo pairs for self-supervised training (Monodepth-style photometric losses).

A stereo sample is a raw sample of the left view (docs/contracts.md section 1) plus ``image_right``,
``depth_right``, ``mask_right``, ``intrinsics_right`` and ``baseline`` (metres, -1 unknown). Pairs
without ground truth carry depth 0 and mask 0. ``keras_depth.data.augment.flip_sample`` swaps left
and right when it flips, so a flipped pair is still a left/right pair.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import tensorflow as tf

from keras_depth.data.readers.decode import parse_key_values, read_image, read_middlebury_calib
from keras_depth.data.readers.kitti import intrinsics_from_projection
from keras_depth.data.readers.listing import IMAGE_EXTS, first_existing, list_files, pair_by_key, require_dir
from keras_depth.data.readers.pfm import (
    DISPARITY_NAMES, RIGHT_DISPARITY_NAMES, _baseline_unit, load_middlebury_view, middlebury_scene_dirs,
)
from keras_depth.data.readers.source import intrinsics_option, records_dataset, report_missing
from keras_depth.data.registry import register_dataset
from keras_depth.errors import DataError, UsageError
from keras_depth.spec import AFFINE_DISPARITY


def _pair_record(left: Path, right: Path, intr: Optional[np.ndarray], baseline: float, **extra: Any) -> dict[str, Any]:
    return {"path": str(left), "rgb": str(left), "right": str(right), "intrinsics": intr, "baseline": baseline, **extra}


def _load_pair(record: dict[str, Any]) -> dict[str, Any]:
    intr = record.get("intrinsics")
    image = read_image(record["rgb"])
    if intr is not None and intr[2] < 0:  # focal length only: principal point at the image centre
        intr = np.array([intr[0], intr[1], (image.shape[1] - 1) / 2.0, (image.shape[0] - 1) / 2.0], np.float32)
    return {"image": image, "image_right": read_image(record["right"]), "semantics": AFFINE_DISPARITY,
            "intrinsics": intr, "intrinsics_right": intr, "baseline": record["baseline"]}


@register_dataset("stereo_folder")
def stereo_folder_dataset(path: str, left: str = "left", right: str = "right", focal_length: Optional[float] = None,
                          baseline: Optional[float] = None, intrinsics: Any = None, strict: bool = False,
                          shuffle: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """Rectified pairs without ground truth: ``path/left/NAME`` with ``path/right/NAME``, or scene
    folders (``path`` or its subfolders) holding a ``left.*`` and a ``right.*`` image.

    ``baseline`` in metres; ``intrinsics`` [fx, fy, cx, cy], or just ``focal_length`` (fx = fy, with the
    principal point taken as the image centre).
    """
    root = require_dir(path, "stereo_folder")
    intr = intrinsics_option(intrinsics, "stereo_folder")
    if intr is None and focal_length is not None:
        intr = np.array([focal_length, focal_length, -1.0, -1.0], np.float32)
    b = -1.0 if baseline is None else float(baseline)
    records = []
    if (root / left).is_dir() and (root / right).is_dir():
        pairs, missing = pair_by_key(list_files(root / left, IMAGE_EXTS), list_files(root / right, IMAGE_EXTS))
        for p in missing:
            report_missing("stereo_folder", str(p), f"missing pair: no right image for {p} in {root / right}", strict)
        records = [_pair_record(lp, rp, intr, b) for lp, rp in pairs]
    else:
        scenes = [root] + sorted(p for p in root.iterdir() if p.is_dir())
        for scene in scenes:
            lefts = [p for p in list_files(scene, IMAGE_EXTS) if p.stem == left]
            if not lefts:
                continue
            rights = [p for p in list_files(scene, IMAGE_EXTS) if p.stem == right]
            if not rights:
                report_missing("stereo_folder", str(lefts[0]), f"missing pair: no {right}.* beside {lefts[0]}", strict)
                continue
            records.append(_pair_record(lefts[0], rights[0], intr, b))
    return records_dataset("stereo_folder", records, _load_pair, stereo=True, strict=strict, shuffle=shuffle, seed=seed)


def kitti_stereo_calib(calib_path: str, left_key: str, right_key: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(left intrinsics, right intrinsics, baseline in m) from rectified projection matrices:
    P = K [I | t] with t_x = -fx * b_x, so baseline = (P_l[0,3] - P_r[0,3]) / fx."""
    calib = parse_key_values(calib_path)
    for k in (left_key, right_key):
        if k not in calib or calib[k].size != 12:
            raise DataError(f"{calib_path}: calib has no 3x4 {k}")
    pl, pr = calib[left_key].reshape(3, 4), calib[right_key].reshape(3, 4)
    baseline = (pl[0, 3] - pr[0, 3]) / pl[0, 0]
    return intrinsics_from_projection(pl), intrinsics_from_projection(pr), float(baseline)


@register_dataset("kitti_stereo")
def kitti_stereo_dataset(path: str, cameras: str = "color", strict: bool = False, shuffle: bool = False,
                         seed: Optional[int] = None) -> tf.data.Dataset:
    """KITTI rectified stereo with calibration: raw drives (``DATE/DRIVE/image_02/data`` +
    ``image_03/data``, ``DATE/calib_cam_to_cam.txt`` P_rect_02/03) or odometry sequences
    (``image_2`` + ``image_3`` or ``image_0`` + ``image_1``, ``calib.txt`` P2/P3 or P0/P1).
    ``cameras``: ``color`` (02/03) or ``gray`` (00/01)."""
    if cameras not in ("color", "gray"):
        raise UsageError(f"kitti_stereo cameras: expected 'color' or 'gray', got {cameras!r}")
    root = require_dir(path, "kitti_stereo")
    li, ri = ("02", "03") if cameras == "color" else ("00", "01")
    records = []
    calib_cache: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}

    def calib(path: Path, lk: str, rk: str) -> tuple[np.ndarray, np.ndarray, float]:
        key = str(path)
        if key not in calib_cache:
            calib_cache[key] = kitti_stereo_calib(key, lk, rk)
        return calib_cache[key]

    def add(ldir: Path, rdir: Path, calib_path: Optional[Path], lk: str, rk: str) -> None:
        if calib_path is None or not calib_path.exists():
            report_missing("kitti_stereo", str(ldir), f"missing calib for {ldir} (expected {calib_path})", strict)
            return
        il, ir, b = calib(calib_path, lk, rk)
        pairs, missing = pair_by_key(list_files(ldir, IMAGE_EXTS), list_files(rdir, IMAGE_EXTS))
        for p in missing:
            report_missing("kitti_stereo", str(p), f"missing pair: no right frame for {p} in {rdir}", strict)
        for lp, rp in pairs:
            records.append({**_pair_record(lp, rp, il, b), "intrinsics_right": ir})

    for ldir in sorted(root.glob(f"**/image_{li}/data")):  # raw
        drive = ldir.parent.parent
        cal = first_existing(drive.parent, ["calib_cam_to_cam.txt"]) or first_existing(drive, ["calib_cam_to_cam.txt"])
        add(ldir, drive / f"image_{ri}" / "data", cal, f"P_rect_{li}", f"P_rect_{ri}")
    for ldir in sorted(root.glob(f"**/image_{int(li)}")):  # odometry
        if ldir.is_dir() and (ldir.parent / f"image_{int(ri)}").is_dir():
            add(ldir, ldir.parent / f"image_{int(ri)}", ldir.parent / "calib.txt", f"P{int(li)}", f"P{int(ri)}")
    if not records:
        raise UsageError(f"kitti_stereo: no KITTI stereo frames with calibration under {root}")

    def load(record: dict[str, Any]) -> dict[str, Any]:
        sample = _load_pair(record)
        sample["intrinsics_right"] = record["intrinsics_right"]
        return sample

    return records_dataset("kitti_stereo", records, load, stereo=True, strict=strict, shuffle=shuffle, seed=seed)


@register_dataset("middlebury_stereo")
def middlebury_stereo_dataset(path: str, left: str = "im0.png", right: str = "im1.png", disparity: Optional[str] = None,
                              disparity_right: Optional[str] = None, calib: Optional[str] = "calib.txt",
                              disparity_scale: float = 1.0, baseline_units: str = "mm", strict: bool = False,
                              shuffle: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """Middlebury / ETH3D scenes as stereo pairs with ground truth: left and right disparity (the right
    one when present) as metric depth through ``calib.txt``, or as affine disparity without it."""
    unit = _baseline_unit(baseline_units)
    root = require_dir(path, "middlebury_stereo")
    records = []
    for scene in middlebury_scene_dirs(root, left):
        if not (scene / right).exists():
            report_missing("middlebury_stereo", str(scene / left), f"missing pair: {scene / right} not found", strict)
            continue
        d0 = scene / disparity if disparity else first_existing(scene, DISPARITY_NAMES)
        d1 = scene / disparity_right if disparity_right else first_existing(scene, RIGHT_DISPARITY_NAMES)
        cal = scene / calib if calib and (scene / calib).exists() else None
        records.append({"path": str(scene / left), "scene": str(scene), "right": str(scene / right),
                        "depth": str(d0) if d0 is not None and d0.exists() else None,
                        "depth_right": str(d1) if d1 is not None and d1.exists() else None,
                        "calib": str(cal) if cal else None})
    if not records:
        raise UsageError(f"middlebury_stereo: no scene with {left!r} in {root} or its subfolders")

    def load(record: dict[str, Any]) -> dict[str, Any]:
        scene = Path(record["scene"])
        cal = read_middlebury_calib(record["calib"]) if record["calib"] else None
        lv = load_middlebury_view(scene, left, Path(record["depth"]) if record["depth"] else None, cal, disparity_scale, None, unit, "cam0")
        rv = load_middlebury_view(scene, right, Path(record["depth_right"]) if record["depth_right"] else None, cal,
                                  disparity_scale, None, unit, "cam1")
        sample = dict(lv)
        sample["semantics"] = lv["semantics"] if "depth" in lv else rv["semantics"]
        for k in ("image", "depth", "mask", "intrinsics"):
            if k in rv:
                sample[k + "_right"] = rv[k]
        if cal is not None:
            sample["baseline"] = float(cal["baseline"]) * unit
        return sample

    return records_dataset("middlebury_stereo", records, load, stereo=True, strict=strict, shuffle=shuffle, seed=seed)
