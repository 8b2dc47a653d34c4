"""What a model is evaluated on at its own input size: a split of the config, an entry of
``eval.datasets``, or ``nyu_fastdepth_sample`` (the one NYU frame shipped with FastDepth, from
``../shared/data``, ``keras_depth.paths``).

The real RGB-D frames (``real_rgbd``) are not an ``EvalSet``: they keep their aspect ratio and are
scored per source at the ground truth's resolution (``keras_depth.evaluation.real_frames``).
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from keras_depth.config import Config
from keras_depth.data.pipeline import make_dataset
from keras_depth.errors import UsageError
from keras_depth.packed_target import unpack_target
from keras_depth.paths import shared_path

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
    ``eval.datasets`` (dataset entries, any registered type), or ``nyu_fastdepth_sample``.
    ``real_rgbd`` has its own path: ``keras_depth.evaluation.run.evaluate_real_frames``."""
    if name in ("val", "train"):
        return load_eval_set(config, name, limit)
    if name == "nyu_fastdepth_sample":
        return nyu_fastdepth_sample()[0]
    if name not in config.eval.datasets:
        raise UsageError(f"--data {name!r}: expected val, train, nyu_fastdepth_sample or a key of eval.datasets "
                         f"({sorted(config.eval.datasets)}) here; real_rgbd is scored per source by "
                         f"keras_depth.evaluation.run.evaluate_real_frames")
    entries = config.eval.datasets[name]
    if not isinstance(entries, list):
        raise UsageError(f"config key 'eval.datasets.{name}': expected a list of dataset entries")
    sub = dataclasses.replace(config, data=dataclasses.replace(config.data, val=list(entries)))
    data = load_eval_set(sub, "val", limit)
    data.name = data.name.replace("(val,", f"({name},")
    return data
