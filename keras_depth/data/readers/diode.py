"""DIODE (Vasiljevic et al., 2019): ``NAME.png`` beside ``NAME_depth.npy`` (float32 [768, 1024, 1],
metres) and ``NAME_depth_mask.npy`` (validity), in ``{train,val}/{indoors,outdoor}/scene_*/scan_*/``."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import tensorflow as tf

from keras_depth.data.readers.listing import require_dir
from keras_depth.data.readers.source import intrinsics_option, load_rgbd, records_dataset, report_missing
from keras_depth.data.registry import register_dataset
from keras_depth.spec import METRIC

# diode-devkit intrinsics.txt: the computational camera used to render the RGB-D crops.
DIODE_INTRINSICS = np.array([886.81, 927.06, 512.0, 384.0], np.float32)


@register_dataset("diode")
def diode_dataset(path: str, max_depth: Optional[float] = None, intrinsics: Any = None, strict: bool = False,
                  shuffle: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """Every ``*.png`` under ``path`` with its ``_depth.npy`` and ``_depth_mask.npy``; metric depth,
    valid where the mask is non-zero and the depth positive (and <= ``max_depth`` when given)."""
    root = require_dir(path, "diode")
    intr = intrinsics_option(intrinsics, "diode")
    records = []
    for rgb in sorted(root.rglob("*.png")):
        depth = rgb.with_name(rgb.stem + "_depth.npy")
        mask = rgb.with_name(rgb.stem + "_depth_mask.npy")
        missing = [p for p in (depth, mask) if not p.exists()]
        if missing:
            report_missing("diode", str(rgb), f"missing pair: {missing[0].name} not found beside {rgb}", strict)
            continue
        records.append({"path": str(rgb), "rgb": str(rgb), "depth": str(depth), "mask": str(mask), "format": "npy",
                        "scale": 1.0, "semantics": METRIC, "max_depth": max_depth,
                        "intrinsics": DIODE_INTRINSICS if intr is None else intr})
    return records_dataset("diode", records, load_rgbd, strict=strict, shuffle=shuffle, seed=seed)
