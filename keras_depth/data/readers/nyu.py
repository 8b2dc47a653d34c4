"""NYU Depth v2 (Silberman et al., ECCV 2012): the labeled ``.mat`` file, and folders of RGB + 16-bit PNG depth.

The labeled file ``nyu_depth_v2_labeled.mat`` is MATLAB v7.3, i.e. HDF5. MATLAB writes arrays
column-major, so h5py sees every axis reversed: ``images`` (480x640x3x1449 in MATLAB) reads as
[1449, 3, 640, 480] and ``depths`` (480x640x1449, metres, in-filled) as [1449, 640, 480].
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import tensorflow as tf

from keras_depth.data.readers.generic import folder_pair_records
from keras_depth.data.readers.listing import IMAGE_EXTS, list_files, pair_by_key, require_dir, require_file
from keras_depth.data.readers.source import load_rgbd, records_dataset, report_missing
from keras_depth.data.registry import register_dataset
from keras_depth.errors import DataError, UsageError
from keras_depth.spec import METRIC

# Colour camera of the NYU toolbox (camera_params.m), whose cx, cy are 1-based MATLAB pixel
# coordinates; here 0-based (OpenCV), as every calibration a reader passes to check_sample.
NYU_INTRINSICS = np.array([518.8579, 519.4696, 325.5824 - 1.0, 253.7362 - 1.0], np.float32)
NYU_DEPTH_KEYS = ("depths", "rawDepths")


class NyuV2MatFile:
    """Random access to the labeled .mat file; one h5py handle, shared by the decode threads."""

    def __init__(self, path: str, depth_key: str = "depths"):
        import h5py

        self.path = str(require_file(path, "nyu_mat"))
        if depth_key not in NYU_DEPTH_KEYS:
            raise UsageError(f"nyu_mat depth_key: expected one of {NYU_DEPTH_KEYS}, got {depth_key!r}")
        self.depth_key = depth_key
        self._lock = threading.Lock()
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as e:
            raise DataError(f"{self.path}: not an HDF5 (MATLAB v7.3) file ({e})") from None
        for key in ("images", depth_key):
            if key not in self._file:
                raise DataError(f"{self.path}: no {key!r} array (expected the NYU Depth v2 labeled file)")
        images, depths = self._file["images"], self._file[depth_key]
        if images.ndim != 4 or images.shape[1] != 3 or depths.ndim != 3 or depths.shape[0] != images.shape[0]:
            raise DataError(f"{self.path}: expected images [N, 3, W, H] and {depth_key} [N, W, H] (MATLAB v7.3 layout), "
                            f"got {images.shape} and {depths.shape}")
        if images.shape[2:] != depths.shape[1:]:
            raise DataError(f"{self.path}: size mismatch: images {images.shape[2:]}, {depth_key} {depths.shape[1:]}")
        self.count = int(images.shape[0])

    def __len__(self) -> int:
        return self.count

    def read(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(uint8 [480, 640, 3] RGB, float32 [480, 640] metres) of frame ``index``."""
        with self._lock:
            image = self._file["images"][index]  # [3, W, H]
            depth = self._file[self.depth_key][index]  # [W, H]
        return np.ascontiguousarray(image.transpose(2, 1, 0)).astype(np.uint8), np.ascontiguousarray(depth.T).astype(np.float32)


@register_dataset("nyu_mat")
def nyu_mat_dataset(path: str, depth_key: str = "depths", indices: Optional[Sequence[int]] = None, strict: bool = False,
                    shuffle: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """Frames of ``nyu_depth_v2_labeled.mat``: metric depth (``depths`` in-filled, or ``rawDepths`` with
    0 = invalid), NYU colour intrinsics. ``indices``: 0-based frames to use (e.g. the official split)."""
    mat = NyuV2MatFile(path, depth_key)
    if indices is None:
        indices = range(len(mat))
    bad = [i for i in indices if not (0 <= int(i) < len(mat))]
    if bad:
        raise UsageError(f"nyu_mat indices: {bad[:5]} out of range 0..{len(mat) - 1}")
    records = [{"path": f"{mat.path}[{int(i)}]", "index": int(i)} for i in indices]

    def load(record: dict[str, Any]) -> dict[str, Any]:
        image, depth = mat.read(record["index"])
        return {"image": image, "depth": depth, "semantics": METRIC, "intrinsics": NYU_INTRINSICS}

    return records_dataset("nyu_mat", records, load, strict=strict, shuffle=shuffle, seed=seed)


@register_dataset("nyu_folder")
def nyu_folder_dataset(path: str, scale: float = 1000.0, intrinsics: Any = None, strict: bool = False,
                       shuffle: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """RGB + 16-bit PNG depth in millimetres. Either ``rgb/`` and ``depth/`` subfolders, or the BTS
    ``sync`` layout: ``rgb_NNNNN.jpg`` beside ``sync_depth_NNNNN.png``, searched recursively."""
    root = require_dir(path, "nyu_folder")
    intr = NYU_INTRINSICS if intrinsics is None else intrinsics
    if (root / "depth").is_dir():
        records = folder_pair_records(str(root), None, "depth", "png16", scale, "metric", intr, "nyu_folder", strict)
    else:
        records = []
        for folder in sorted({p.parent for p in root.rglob("sync_depth_*.png")}):
            rgbs = [p for p in list_files(folder, IMAGE_EXTS) if p.name.startswith("rgb_")]
            depths = [p for p in list_files(folder, (".png",)) if p.name.startswith("sync_depth_")]
            pairs, missing = pair_by_key(rgbs, depths, strip=("rgb_", "sync_depth_"))
            for p in missing:
                report_missing("nyu_folder", str(p), f"missing pair: no sync_depth PNG for {p}", strict)
            records += [{"path": str(r), "rgb": str(r), "depth": str(d), "format": "png16", "scale": scale,
                         "semantics": METRIC, "intrinsics": np.asarray(intr, np.float32)} for r, d in pairs]
    return records_dataset("nyu_folder", records, load_rgbd, strict=strict, shuffle=shuffle, seed=seed)
