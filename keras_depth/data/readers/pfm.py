"""PFM disparity: Middlebury 2014 and ETH3D scene folders, and SceneFlow.

Middlebury 2014 / ETH3D two-view: ``im0.png``, ``im1.png``, ``disp0GT.pfm`` or ``disp0.pfm`` (+inf =
unknown), ``calib.txt``. With the calibration, disparity becomes metric depth
``Z = f * B / (d + doffs)`` (Middlebury's definition; B in mm, so Z in mm, stored here in metres);
without it the sample keeps disparity with ``affine_disparity`` semantics (known up to scale and
shift). Older Middlebury scenes (2005/2006) ship 8-bit PNG disparity (0 = unknown) and no
calibration: give ``disparity`` (and ``disparity_scale``) to read them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import tensorflow as tf

from keras_depth.data.readers.decode import read_depth, read_image, read_mask, read_middlebury_calib
from keras_depth.data.readers.listing import first_existing, list_files, require_dir
from keras_depth.data.readers.source import records_dataset, report_missing
from keras_depth.data.registry import register_dataset
from keras_depth.errors import DataError, UsageError
from keras_depth.spec import AFFINE_DISPARITY, METRIC

DISPARITY_NAMES = ("disp0GT.pfm", "disp0.pfm", "disp0.png", "disp1.png")
RIGHT_DISPARITY_NAMES = ("disp1GT.pfm", "disp1.pfm")


def disparity_to_depth(disparity: np.ndarray, valid: np.ndarray, focal: float, baseline: float, doffs: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Z = f * B / (d + doffs), in the units of B; invalid where d + doffs <= 0."""
    denom = disparity + np.float32(doffs)
    valid = valid & (denom > 0)
    depth = np.where(valid, np.float32(focal * baseline) / np.where(valid, denom, 1.0), 0.0)
    return depth.astype(np.float32), valid


def middlebury_scene_dirs(root: Path, left: str) -> list[Path]:
    """``root`` itself when it holds ``left``, else its subfolders that do (one scene each)."""
    if (root / left).exists():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / left).exists())


def load_middlebury_view(scene: Path, image: str, disparity: Optional[Path], calib: Optional[dict], disparity_scale: float,
                         mask: Optional[Path], baseline_unit: float, cam: str = "cam0") -> dict[str, Any]:
    """One view: image, metric depth (with calib) or disparity, validity, intrinsics (with calib)."""
    out: dict[str, Any] = {"image": read_image(scene / image)}
    if disparity is None:
        out["semantics"] = AFFINE_DISPARITY
        return out
    disp, valid = read_depth(disparity, None if disparity.suffix.lower() != ".png" else "png8", disparity_scale)
    if mask is not None:
        m = read_mask(mask)
        if m.shape != valid.shape:
            raise DataError(f"{mask}: size mismatch: mask {m.shape[1]}x{m.shape[0]}, disparity {valid.shape[1]}x{valid.shape[0]}")
        valid &= m
    if not np.isfinite(disp).all():  # NaN: not Middlebury's +inf convention, a broken file
        raise DataError(f"{disparity}: disparity has NaN values")
    if calib is None:
        out.update(depth=np.where(valid, disp, 0), mask=valid, semantics=AFFINE_DISPARITY)
        return out
    k = calib[cam]
    depth, valid = disparity_to_depth(disp, valid, float(k[0, 0]), float(calib["baseline"]) * baseline_unit, float(calib["doffs"]))
    out.update(depth=depth, mask=valid, semantics=METRIC,
               intrinsics=np.array([k[0, 0], k[1, 1], k[0, 2], k[1, 2]], np.float32))
    return out


def _baseline_unit(baseline_units: str) -> float:
    if baseline_units not in ("mm", "m"):
        raise UsageError(f"baseline_units: expected 'mm' (Middlebury) or 'm', got {baseline_units!r}")
    return 0.001 if baseline_units == "mm" else 1.0


def middlebury_records(path: str, name: str, left: str, disparity: Optional[str], calib: Optional[str], mask: Optional[str],
                       strict: bool) -> list[dict[str, Any]]:
    root = require_dir(path, name)
    scenes = middlebury_scene_dirs(root, left)
    if not scenes:
        raise UsageError(f"{name}: no scene with {left!r} in {root} or its subfolders")
    records = []
    for scene in scenes:
        disp = scene / disparity if disparity else first_existing(scene, DISPARITY_NAMES)
        if disp is None or not disp.exists():
            report_missing(name, str(scene / left), f"missing pair: no disparity ({disparity or ' / '.join(DISPARITY_NAMES)}) in {scene}", strict)
            continue
        cal = scene / calib if calib else None
        records.append({"path": str(scene / left), "scene": str(scene), "depth": str(disp),
                        "calib": str(cal) if cal is not None and cal.exists() else None,
                        "mask": str(scene / mask) if mask and (scene / mask).exists() else None})
    return records


@register_dataset("middlebury")
def middlebury_dataset(path: str, left: str = "im0.png", disparity: Optional[str] = None, calib: Optional[str] = "calib.txt",
                       mask: Optional[str] = None, disparity_scale: float = 1.0, baseline_units: str = "mm",
                       strict: bool = False, shuffle: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """Left views of Middlebury 2014 / ETH3D scenes (one scene folder, or a folder of them).

    Metric depth when ``calib`` exists (``calib: null`` to keep disparity), else affine disparity.
    ``mask``: an optional validity image per scene (ETH3D ``mask0nocc.png``: non-zero = valid).
    ``disparity_scale``: disparity = stored value / scale (for PNG disparity of downsized scenes).
    """
    unit = _baseline_unit(baseline_units)
    records = middlebury_records(path, "middlebury", left, disparity, calib, mask, strict)

    def load(record: dict[str, Any]) -> dict[str, Any]:
        scene = Path(record["scene"])
        cal = read_middlebury_calib(record["calib"]) if record["calib"] else None
        return load_middlebury_view(scene, left, Path(record["depth"]), cal, disparity_scale,
                                    Path(record["mask"]) if record["mask"] else None, unit)

    return records_dataset("middlebury", records, load, strict=strict, shuffle=shuffle, seed=seed)


@register_dataset("sceneflow")
def sceneflow_dataset(path: str, pass_name: str = "frames_cleanpass", view: str = "left", strict: bool = False,
                      shuffle: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """SceneFlow (Mayer et al., CVPR 2016): ``PASS/**/left/NNNN.png`` with ``disparity/**/left/NNNN.pfm``.
    Disparity (little-endian PFM, no invalid marker) is kept with ``affine_disparity`` semantics."""
    root = require_dir(path, "sceneflow")
    images = require_dir(root / pass_name, "sceneflow pass_name")
    disp_root = require_dir(root / "disparity", "sceneflow")
    records = []
    for rgb in list_files(images, (".png", ".webp"), recursive=True):
        if rgb.parent.name != view:
            continue
        disp = disp_root / rgb.relative_to(images).with_suffix(".pfm")
        if not disp.exists():
            report_missing("sceneflow", str(rgb), f"missing pair: {disp} not found", strict)
            continue
        records.append({"path": str(rgb), "rgb": str(rgb), "depth": str(disp)})

    def load(record: dict[str, Any]) -> dict[str, Any]:
        disp, valid = read_depth(record["depth"], "pfm", 1.0)
        return {"image": read_image(record["rgb"]), "depth": disp, "mask": valid, "semantics": AFFINE_DISPARITY}

    return records_dataset("sceneflow", records, load, strict=strict, shuffle=shuffle, seed=seed)
