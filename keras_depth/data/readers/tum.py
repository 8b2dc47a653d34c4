"""TUM RGB-D (Sturm et al., IROS 2012): 16-bit PNG depth / 5000 = metres, 0 = invalid; colour and
depth associated by nearest timestamp from ``rgb.txt`` and ``depth.txt`` (as the benchmark's
``associate.py``: greedy by smallest time difference, one-to-one, within ``max_difference`` seconds)."""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Optional

import numpy as np
import tensorflow as tf

from keras_depth.data.readers.listing import require_dir, require_file
from keras_depth.data.readers.source import intrinsics_option, load_rgbd, records_dataset, report_missing
from keras_depth.data.registry import register_dataset
from keras_depth.errors import UsageError
from keras_depth.spec import METRIC

log = logging.getLogger("keras_depth.data")

TUM_DEPTH_SCALE = 5000.0
# ROS default-free calibrations published with the benchmark (colour camera, per Kinect).
TUM_INTRINSICS = {
    "freiburg1": [517.3, 516.5, 318.6, 255.3],
    "freiburg2": [520.9, 521.0, 325.1, 249.7],
    "freiburg3": [535.4, 539.2, 320.1, 247.6],
}


def read_tum_list(path: Path) -> list[tuple[float, str]]:
    """``timestamp filename`` lines of rgb.txt / depth.txt ('#' comments skipped)."""
    out = []
    for n, line in enumerate(require_file(path, "tum").read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        try:
            out.append((float(parts[0]), parts[1]))
        except (ValueError, IndexError):
            raise UsageError(f"{path}:{n}: expected 'timestamp filename', got {line!r}") from None
    return out


def associate(first: list[tuple[float, str]], second: list[tuple[float, str]], max_difference: float = 0.02) -> list[tuple[int, int]]:
    """Index pairs (i, j) of ``first``/``second`` with |t_i - t_j| < max_difference, each index used once,
    closest pairs first; sorted by i."""
    t2 = np.array([t for t, _ in second])
    candidates = []
    for i, (t, _) in enumerate(first):
        if len(t2) == 0:
            break
        lo, hi = np.searchsorted(t2, [t - max_difference, t + max_difference])
        for j in range(lo, hi):
            d = abs(t - t2[j])
            if d < max_difference:
                candidates.append((d, i, j))
    candidates.sort()
    used1, used2, pairs = set(), set(), []
    for _, i, j in candidates:
        if i not in used1 and j not in used2:
            used1.add(i)
            used2.add(j)
            pairs.append((i, j))
    return sorted(pairs)


@register_dataset("tum")
def tum_dataset(path: str, max_difference: float = 0.02, intrinsics: Any = None, strict: bool = False,
                shuffle: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """A TUM RGB-D sequence folder (``rgb.txt``, ``depth.txt``, ``rgb/``, ``depth/``). Intrinsics: the
    option, else the published Freiburg 1/2/3 calibration when the folder name says which."""
    root = require_dir(path, "tum")
    rgb = sorted(read_tum_list(root / "rgb.txt"))
    depth = sorted(read_tum_list(root / "depth.txt"))
    intr = intrinsics_option(intrinsics, "tum")
    if intr is None:
        m = re.search(r"freiburg([123])|fr([123])", root.resolve().name)
        if m:
            intr = np.array(TUM_INTRINSICS[f"freiburg{m.group(1) or m.group(2)}"], np.float32)
    pairs = associate(rgb, depth, max_difference)
    unmatched = len(rgb) - len(pairs)
    if unmatched:
        log.info("tum: %d of %d colour frames in %s have no depth frame within %.3f s", unmatched, len(rgb), root, max_difference)
    records = []
    for i, j in pairs:
        r, d = root / rgb[i][1], root / depth[j][1]
        missing = [p for p in (r, d) if not p.exists()]
        if missing:
            report_missing("tum", str(missing[0]), f"missing pair: {missing[0]} (listed in {root}) not found", strict)
            continue
        records.append({"path": str(r), "rgb": str(r), "depth": str(d), "format": "png16", "scale": TUM_DEPTH_SCALE,
                        "semantics": METRIC, "intrinsics": intr})
    return records_dataset("tum", records, load_rgbd, strict=strict, shuffle=shuffle, seed=seed)
