"""The ``pseudo_labels`` dataset type: one folder of the distillation's pseudo-label cache
(``keras_depth.distill.pseudo_labels`` writes it) read as raw samples (docs/contracts.md section 1).

A folder holds ``images.npy`` (uint8 [N, h, w, 3]), ``labels.npy`` (float16 [N, h, w], in the
label domain of its semantics), ``masks.npy`` (uint8 [N, h, w], the confidence mask) and
``meta.json`` (``format``, ``semantics``, ``frames``, the teachers and the source).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from keras_depth.data.registry import register_dataset
from keras_depth.errors import UsageError
from keras_depth.geometry import center_crop_box
from keras_depth.spec import SEMANTICS_CODES

CACHE_FORMAT = 1


def read_cache(folder: str | Path) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    folder = Path(folder)
    if not (folder / "meta.json").is_file():
        raise UsageError(f"pseudo_labels: {folder} is not a pseudo-label cache folder (no meta.json)")
    meta = json.loads((folder / "meta.json").read_text())
    load = lambda n: np.load(folder / f"{n}.npy", mmap_mode="r")  # noqa: E731
    return meta, load("images"), load("labels"), load("masks")


@register_dataset("pseudo_labels")
def pseudo_labels_dataset(path: str, split: str = "all", holdout: int = 10, aspect: Optional[Sequence[int]] = None,
                          shuffle: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """Raw samples of a pseudo-label cache folder: the label as ``depth`` in its semantics' domain,
    the confidence mask as ``mask``. ``split``: ``train`` leaves out every ``holdout``-th frame,
    ``val`` is those frames, ``all`` every frame. ``aspect``: ``[h, w]`` to centre-crop to (the
    student's input), so later resizing does not squash the frame."""
    meta, images, labels, masks = read_cache(path)
    n = len(images)
    if split not in ("train", "val", "all"):
        raise UsageError(f"pseudo_labels split: expected train, val or all, got {split!r}")
    if not isinstance(holdout, int) or holdout < 2:
        raise UsageError(f"pseudo_labels holdout: expected an integer >= 2, got {holdout!r}")
    index = np.arange(n)
    if split != "all":
        held = index % holdout == holdout - 1
        index = index[held] if split == "val" else index[~held]
    if len(index) == 0:
        raise UsageError(f"pseudo_labels: {path} has no frame in split {split!r} ({n} frames, holdout {holdout})")
    code = SEMANTICS_CODES[meta["semantics"]]
    top, left, h, w = center_crop_box(images.shape[1:3], aspect) if aspect else (0, 0, *images.shape[1:3])

    def load(i: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        i = int(i)
        img = np.asarray(images[i, top:top + h, left:left + w])
        m = np.asarray(masks[i, top:top + h, left:left + w], np.float32)[..., None]
        d = np.asarray(labels[i, top:top + h, left:left + w], np.float32)[..., None] * m
        return img, d, m

    def fetch(i: tf.Tensor) -> dict[str, tf.Tensor]:
        img, d, m = tf.numpy_function(load, [i], [tf.uint8, tf.float32, tf.float32], stateful=False)
        return {"image": tf.ensure_shape(img, [h, w, 3]), "depth": tf.ensure_shape(d, [h, w, 1]),
                "mask": tf.ensure_shape(m, [h, w, 1]), "semantics": tf.constant(code, tf.int32),
                "intrinsics": tf.constant([-1.0] * 4, tf.float32)}

    ds = tf.data.Dataset.from_tensor_slices(index.astype(np.int64))
    if shuffle:
        ds = ds.shuffle(len(index), seed=seed, reshuffle_each_iteration=True)
    return ds.map(fetch, num_parallel_calls=tf.data.AUTOTUNE)
