"""KITTI depth (Geiger et al.; Uhrig et al., 3DV 2017): 16-bit PNG, value / 256 = metres, 0 = invalid,
for both the annotated (accumulated, filtered) maps and projected single-scan LiDAR.

Layouts found under ``path``:
- ``rgb/`` + ``depth/`` with matching names (e.g. the Metric3D demo), intrinsics from a JSON whose
  ``files`` entries carry ``cam_in`` = [fx, fy, cx, cy] (matched by depth file name);
- the object-benchmark layout ``image_2/`` + a depth folder (``depth_dir``) + ``calib/`` (P2);
- the depth benchmark: ``DRIVE/proj_depth/{groundtruth,velodyne_raw}/image_0{2,3}/NNNNNNNNNN.png``,
  with the colour frames and ``calib_cam_to_cam.txt`` from the raw data under ``raw_root``;
- ``depth_selection/val_selection_cropped``: ``image/``, ``groundtruth_depth/``, ``intrinsics/``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np
import tensorflow as tf

from keras_depth.data.readers.decode import parse_key_values
from keras_depth.data.readers.listing import IMAGE_EXTS, list_files, pair_by_key, require_dir
from keras_depth.data.readers.source import intrinsics_option, load_rgbd, records_dataset, report_missing
from keras_depth.data.registry import register_dataset
from keras_depth.errors import UsageError
from keras_depth.spec import METRIC

KITTI_DEPTH_SCALE = 256.0


def intrinsics_from_projection(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, np.float64).reshape(3, 4)
    return np.array([p[0, 0], p[1, 1], p[0, 2], p[1, 2]], np.float32)


def read_calib_intrinsics(path: str, key: str) -> np.ndarray:
    """[fx, fy, cx, cy] from the projection matrix ``key`` (P2, P_rect_02, ...) of a KITTI calib file."""
    from keras_depth.errors import DataError

    calib = parse_key_values(path)
    if key not in calib or calib[key].size != 12:
        raise DataError(f"{path}: calib has no 3x4 {key}")
    return intrinsics_from_projection(calib[key])


def _annotation_intrinsics(root: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for js in sorted(root.glob("*.json")):
        try:
            data = json.loads(js.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        for entry in data.get("files", []) if isinstance(data, dict) else []:
            if isinstance(entry, dict) and "cam_in" in entry and "depth" in entry:
                out[Path(entry["depth"]).name] = np.asarray(entry["cam_in"], np.float32).reshape(4)
    return out


def _record(rgb: Path, depth: Path, intr: Optional[np.ndarray], calib: Optional[str] = None, calib_key: str = "P2") -> dict[str, Any]:
    return {"path": str(rgb), "rgb": str(rgb), "depth": str(depth), "format": "png16", "scale": KITTI_DEPTH_SCALE,
            "semantics": METRIC, "intrinsics": intr, "calib": calib, "calib_key": calib_key}


def kitti_depth_records(path: str, depth_dir: Optional[str], raw_root: Optional[str], depth_source: str,
                        camera: str, intrinsics: Any, strict: bool) -> list[dict[str, Any]]:
    root = require_dir(path, "kitti_depth")
    intr = intrinsics_option(intrinsics, "kitti_depth")
    records: list[dict[str, Any]] = []

    def add_pairs(rgb_dir: Path, dep_dir: Path, intr_for, calib_for=None, calib_key="P2") -> None:
        pairs, missing = pair_by_key(list_files(rgb_dir, IMAGE_EXTS), list_files(dep_dir, (".png",)))
        for p in missing:
            report_missing("kitti_depth", str(p), f"missing pair: no depth for {p} in {dep_dir}", strict)
        for r, d in pairs:
            calib = calib_for(r) if calib_for else None
            records.append(_record(r, d, intr if intr is not None else intr_for(r, d), calib, calib_key))

    if (root / "rgb").is_dir() and (root / "depth").is_dir():
        ann = _annotation_intrinsics(root)
        add_pairs(root / "rgb", root / "depth", lambda r, d: ann.get(d.name))
        return records
    base = root / "training" if (root / "training" / "image_2").is_dir() else root
    if (base / "image_2").is_dir():
        dep = base / depth_dir if depth_dir else next((p for p in sorted(base.iterdir()) if p.is_dir() and "depth" in p.name), None)
        if dep is None or not dep.is_dir():
            raise UsageError(f"kitti_depth: no depth folder beside {base / 'image_2'} (give depth_dir)")

        def calib_for(r: Path) -> Optional[str]:
            c = base / "calib" / (r.stem + ".txt")
            return str(c) if c.exists() else None

        add_pairs(base / "image_2", dep, lambda r, d: None, calib_for, "P2")
        return records
    if (root / "image").is_dir() and (root / "groundtruth_depth").is_dir():
        # depth_selection: ..._sync_image_0000000005_image_02.png <-> ..._sync_groundtruth_depth_0000000005_image_02.png
        images = list_files(root / "image", IMAGE_EXTS)
        for r in images:
            d = root / "groundtruth_depth" / r.name.replace("_sync_image_", "_sync_groundtruth_depth_")
            k = root / "intrinsics" / (r.stem + ".txt")
            if not d.exists():
                report_missing("kitti_depth", str(r), f"missing pair: {d} not found", strict)
                continue
            ki = intr
            if ki is None and k.exists():
                kv = np.loadtxt(k).reshape(3, 3)
                ki = np.array([kv[0, 0], kv[1, 1], kv[0, 2], kv[1, 2]], np.float32)
            records.append(_record(r, d, ki))
        return records
    depth_maps = sorted(root.glob(f"**/proj_depth/{depth_source}/{camera}/*.png"))
    if depth_maps:
        if raw_root is None:
            raise UsageError("kitti_depth: the depth-benchmark layout needs raw_root (the KITTI raw data folder with the colour frames)")
        raw = require_dir(raw_root, "kitti_depth raw_root")
        cam_index = camera[-2:]
        for d in depth_maps:
            drive = d.parents[3].name  # DRIVE/proj_depth/SOURCE/CAMERA/NAME.png
            date = drive[:10]
            r = raw / date / drive / camera / "data" / d.name
            if not r.exists():
                report_missing("kitti_depth", str(d), f"missing pair: colour frame {r} not found", strict)
                continue
            calib = raw / date / "calib_cam_to_cam.txt"
            records.append(_record(r, d, intr, str(calib) if calib.exists() else None, f"P_rect_{cam_index}"))
        return records
    raise UsageError(f"kitti_depth: no known KITTI layout in {root} (rgb/+depth/, image_2/, image/+groundtruth_depth/, or */proj_depth/)")


def _load_kitti(record: dict[str, Any]) -> dict[str, Any]:
    sample = load_rgbd(record)
    if sample["intrinsics"] is None and record.get("calib"):
        sample["intrinsics"] = read_calib_intrinsics(record["calib"], record["calib_key"])
    return sample


@register_dataset("kitti_depth")
def kitti_depth_dataset(path: str, depth_dir: Optional[str] = None, raw_root: Optional[str] = None,
                        depth_source: str = "groundtruth", camera: str = "image_02", intrinsics: Any = None,
                        strict: bool = False, shuffle: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """KITTI colour frames with annotated or projected-LiDAR depth (metric; value / 256 = m).

    ``depth_source``: ``groundtruth`` or ``velodyne_raw`` (depth-benchmark layout); ``camera``:
    ``image_02`` or ``image_03``; ``intrinsics`` overrides the calib files.
    """
    if depth_source not in ("groundtruth", "velodyne_raw"):
        raise UsageError(f"kitti_depth depth_source: expected 'groundtruth' or 'velodyne_raw', got {depth_source!r}")
    if camera not in ("image_02", "image_03"):
        raise UsageError(f"kitti_depth camera: expected 'image_02' or 'image_03', got {camera!r}")
    records = kitti_depth_records(path, depth_dir, raw_root, depth_source, camera, intrinsics, strict)
    return records_dataset("kitti_depth", records, _load_kitti, strict=strict, shuffle=shuffle, seed=seed)
