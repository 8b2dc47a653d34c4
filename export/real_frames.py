"""The real indoor RGB-D frames of ``../shared/data`` as one evaluation set, read by the registered readers.

The frames are listed in a JSONL file for the ``manifest`` dataset type (keras_depth.data.readers.generic),
with each source's depth units from ``../shared/data/README.md``. Left out on purpose: ICL-NUIM (rendered,
not real), the NYU-raw Kinect frame (disparity not registered to the RGB), KITTI (outdoor, 80 m range;
our models are indoor 0.25-10 m) and nyu_fastdepth_sample (its own set: ``nyu_fastdepth_sample``).
"""
from __future__ import annotations

import json
from pathlib import Path

from export.peers import shared_dir
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_text

# (rgb, depth, format, scale) relative to ../shared/data/rgbd; value / scale = metres.
REAL_RGBD_FRAMES: tuple[tuple[str, str, str, float], ...] = tuple(
    [(f"open3d_redwood_tum_sun_nyuraw/color/{i:05d}.jpg", f"open3d_redwood_tum_sun_nyuraw/depth/{i:05d}.png", "png16", 1000.0)
     for i in range(5)]
    + [("open3d_redwood_tum_sun_nyuraw/other_formats/TUM_color.png", "open3d_redwood_tum_sun_nyuraw/other_formats/TUM_depth.png", "png16", 5000.0),
       ("open3d_redwood_tum_sun_nyuraw/other_formats/SUN_color.jpg", "open3d_redwood_tum_sun_nyuraw/other_formats/SUN_depth.png", "sunrgbd", 1000.0)]
    + [(f"slambook2/tum_fr2_desk_ch7/{i}.png", f"slambook2/tum_fr2_desk_ch7/{i}_depth.png", "png16", 5000.0) for i in (1, 2)]
)


def real_rgbd_entries(cache_dir: Path) -> list[dict]:
    """Dataset entries (``{type: manifest, path: ...}``) for the real frames; writes the JSONL listing
    under ``cache_dir``."""
    root = shared_dir() / "data" / "rgbd"
    if not root.is_dir():
        raise UsageError(f"real_rgbd: {root} not found (set KERAS_DEPTH_SHARED to the shared folder)")
    rows = [{"rgb": str(root / r), "depth": str(root / d), "format": f, "scale": s, "semantics": "metric"}
            for r, d, f, s in REAL_RGBD_FRAMES]
    path = Path(cache_dir) / "real_rgbd.jsonl"
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))
    return [{"type": "manifest", "path": str(path), "strict": True}]
