"""MPI Sintel depth (Butler et al., ECCV 2012): ``training/{final,clean}/SCENE/frame_NNNN.png``,
``training/depth/SCENE/frame_NNNN.dpt`` and ``training/camdata_left/SCENE/frame_NNNN.cam``.

Sintel is a rendered film whose units are not metres, so depth is ``relative`` by default.
"""
from __future__ import annotations

from typing import Any, Optional

import tensorflow as tf

from keras_depth.data.readers.decode import read_sintel_cam, semantics_code
from keras_depth.data.readers.listing import require_dir
from keras_depth.data.readers.source import load_rgbd, records_dataset, report_missing
from keras_depth.data.registry import register_dataset
from keras_depth.errors import DataError, UsageError


@register_dataset("sintel")
def sintel_dataset(path: str, pass_name: str = "final", max_depth: Optional[float] = None, semantics: str = "relative",
                   strict: bool = False, shuffle: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """``path``: the Sintel ``training`` folder. ``max_depth``: depths beyond it are invalid (the sky
    renders at very large depth; MiDaS-style evaluation caps at 72)."""
    root = require_dir(path, "sintel")
    images = require_dir(root / pass_name, "sintel pass_name")
    depth_root = require_dir(root / "depth", "sintel")
    try:
        sem = semantics_code(semantics, "sintel semantics")
    except DataError as e:
        raise UsageError(str(e)) from None
    records = []
    for rgb in sorted(images.rglob("*.png")):
        rel = rgb.relative_to(images).with_suffix(".dpt")
        depth = depth_root / rel
        if not depth.exists():
            report_missing("sintel", str(rgb), f"missing pair: {depth} not found", strict)
            continue
        cam = root / "camdata_left" / rel.with_suffix(".cam")
        records.append({"path": str(rgb), "rgb": str(rgb), "depth": str(depth), "format": "dpt", "scale": 1.0,
                        "semantics": sem, "max_depth": max_depth, "calib": str(cam) if cam.exists() else None})

    def load(record: dict[str, Any]) -> dict[str, Any]:
        sample = load_rgbd(record)
        if record["calib"]:
            sample["intrinsics"] = read_sintel_cam(record["calib"])
        return sample

    return records_dataset("sintel", records, load, strict=strict, shuffle=shuffle, seed=seed)
