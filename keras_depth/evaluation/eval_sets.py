"""What a model is evaluated on: a split of the config, an entry of ``eval.datasets``, or a built-in
set of real frames from ``../shared/data`` (``keras_depth.paths``).

``real_rgbd``: the real indoor RGB-D frames, listed in a JSONL file for the ``manifest`` dataset type
(keras_depth.data.readers.generic) with each source's depth units from ``../shared/data/README.md``.
Left out on purpose: ICL-NUIM (rendered, not real), the NYU-raw Kinect frame (disparity not registered
to the RGB), KITTI (outdoor, 80 m range; our models are indoor 0.25-10 m) and nyu_fastdepth_sample
(its own set). ``nyu_fastdepth_sample``: the one NYU frame shipped with FastDepth.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Optional

import numpy as np

from keras_depth.config import Config
from keras_depth.data.pipeline import make_dataset
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_text
from keras_depth.paths import shared_path
from keras_depth.target import unpack_target

# (rgb, depth, format, scale) relative to ../shared/data/rgbd; value / scale = metres.
REAL_RGBD_FRAMES: tuple[tuple[str, str, str, float], ...] = tuple(
    [(f"open3d_redwood_tum_sun_nyuraw/color/{i:05d}.jpg", f"open3d_redwood_tum_sun_nyuraw/depth/{i:05d}.png", "png16", 1000.0)
     for i in range(5)]
    + [("open3d_redwood_tum_sun_nyuraw/other_formats/TUM_color.png", "open3d_redwood_tum_sun_nyuraw/other_formats/TUM_depth.png", "png16", 5000.0),
       ("open3d_redwood_tum_sun_nyuraw/other_formats/SUN_color.jpg", "open3d_redwood_tum_sun_nyuraw/other_formats/SUN_depth.png", "sunrgbd", 1000.0)]
    + [(f"slambook2/tum_fr2_desk_ch7/{i}.png", f"slambook2/tum_fr2_desk_ch7/{i}_depth.png", "png16", 5000.0) for i in (1, 2)]
)
BUILT_IN_SETS = ("real_rgbd", "nyu_fastdepth_sample")


@dataclasses.dataclass
class EvalSet:
    images: np.ndarray  # uint8 [N, h, w, 3]
    depth: np.ndarray  # float32 [N, h, w]
    mask: np.ndarray  # float32 [N, h, w]
    name: str


def load_eval_set(config: Config, split: str = "val", limit: Optional[int] = None) -> EvalSet:
    """The ``split`` of ``config`` (``val`` or ``train``), unaugmented, at the model's input size."""
    ds = make_dataset(config, split, batch_size=1, training=False, repeat=False)
    if limit:
        ds = ds.take(limit)
    imgs, depths, masks = [], [], []
    for x, y in ds:
        d, m, _ = unpack_target(y)
        imgs.append(np.round(x.numpy()[0] * 255).astype(np.uint8))
        depths.append(d.numpy()[0, ..., 0])
        masks.append(m.numpy()[0, ..., 0])
    if not imgs:
        raise UsageError(f"evaluate: data.{split} yielded no sample")
    names = "+".join(e.get("type", "?") for e in getattr(config.data, split))
    return EvalSet(np.stack(imgs), np.stack(depths), np.stack(masks), f"{names} ({split}, {len(imgs)} images)")


def real_rgbd_entries(cache_dir: Path) -> list[dict]:
    """Dataset entries (``{type: manifest, path: ...}``) for the real frames; writes the JSONL listing
    under ``cache_dir``."""
    root = shared_path("data", "rgbd")
    if not root.is_dir():
        raise UsageError(f"real_rgbd: {root} not found (set KERAS_DEPTH_SHARED to the shared folder)")
    rows = [{"rgb": str(root / r), "depth": str(root / d), "format": f, "scale": s, "semantics": "metric"}
            for r, d, f, s in REAL_RGBD_FRAMES]
    path = Path(cache_dir) / "real_rgbd.jsonl"
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))
    return [{"type": "manifest", "path": str(path), "strict": True}]


def nyu_fastdepth_sample() -> tuple[EvalSet, np.ndarray]:
    """The one NYU frame shipped with FastDepth (224x224): EvalSet plus FastDepth's own float prediction.

    ``rgb.npy`` is RGB/255 in float64 HWC; ``depth.npy`` dense metres; ``pred.npy`` NCHW metres.
    """
    root = shared_path("data", "rgbd", "nyu_fastdepth_sample")
    if not root.is_dir():
        raise UsageError(f"nyu_fastdepth_sample: folder not found at {root}")
    rgb = np.load(root / "rgb.npy")
    image = np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
    depth = np.load(root / "depth.npy").astype(np.float32)
    pred = np.load(root / "pred.npy").astype(np.float32)[0, 0]
    data = EvalSet(image[None], depth[None], np.ones_like(depth)[None], "nyu_fastdepth_sample (1 NYU frame, 224x224)")
    return data, pred


def eval_set_for(config: Config, name: str = "val", limit: Optional[int] = None) -> EvalSet:
    """The evaluation set called ``name``: a split of the config (``val``, ``train``), an entry of
    ``eval.datasets`` (dataset entries, any registered type), or a built-in: ``real_rgbd`` (the real
    indoor RGB-D frames of ../shared/data through the registered readers), ``nyu_fastdepth_sample``."""
    if name in ("val", "train"):
        return load_eval_set(config, name, limit)
    if name == "nyu_fastdepth_sample":
        return nyu_fastdepth_sample()[0]
    if name in config.eval.datasets:
        entries = config.eval.datasets[name]
    elif name == "real_rgbd":
        entries = real_rgbd_entries(Path(config.data.cache_dir))
    else:
        raise UsageError(f"--data {name!r}: expected val, train, real_rgbd, nyu_fastdepth_sample or a key of "
                         f"eval.datasets ({sorted(config.eval.datasets)})")
    if not isinstance(entries, list):
        raise UsageError(f"config key 'eval.datasets.{name}': expected a list of dataset entries")
    sub = dataclasses.replace(config, data=dataclasses.replace(config.data, val=list(entries)))
    data = load_eval_set(sub, "val", limit)
    if name == "real_rgbd":
        data.name = (f"real_rgbd (Redwood x5, TUM x3, SUN x1; {len(data.images)} real indoor frames, "
                     f"resized to {data.images.shape[1]}x{data.images.shape[2]})")
    else:
        data.name = data.name.replace("(val,", f"({name},")
    return data
