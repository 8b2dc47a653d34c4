"""Pseudo-labels: a teacher's depth on unlabelled frames, computed once, cached, read as a dataset.

Quality (docs/distill.md):

- **flip TTA**: the teacher runs on the frame and on its mirror; the mirror's output is flipped back,
  aligned to the first by the semantics' alignment (none for metric, a median ratio for relative depth,
  least-squares scale and shift for affine disparity) and the two are averaged;
- **confidence mask**: a pixel is kept where the two disagree by at most ``threshold``: relative
  to their mean in the depth domain (``|a - b| / ((a + b) / 2)``), relative to the image's median
  in the disparity domain (``|a - b| / median(a)``: disparity may be 0, e.g. sky);
- **several teachers**: each one's label is aligned to the first teacher's in the same way, then
  averaged; a pixel is kept where every teacher kept it.

The cache (``label_source``): one folder per source under ``<cache_dir>/pseudo/<key>/`` in the
format that the ``pseudo_labels`` dataset type reads (``keras_depth.data.readers.pseudo_labels``),
written atomically. The key hashes the teachers (file hash and every input/output convention), the
source (options and file listing) and the preprocessing, so a second run never calls a teacher again.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from keras_depth.data.readers.pseudo_labels import CACHE_FORMAT
from keras_depth.distill.teacher import Teacher, label_domain
from keras_depth.distill.unlabeled import FrameSource, iter_source
from keras_depth.errors import UsageError
from keras_depth.geometry import center_crop, center_crop_box, lstsq_scale_shift, resize_rgb
from keras_depth.io import atomic_write_text, atomic_write_with

DEFAULT_THRESHOLD = 0.1


def valid_label(y: np.ndarray, semantics: str) -> np.ndarray:
    ok = np.isfinite(y)
    return ok & (y > 0) if label_domain(semantics) == "depth" else ok


def align_label(y: np.ndarray, ref: np.ndarray, valid: np.ndarray, semantics: str) -> np.ndarray:
    """``y`` aligned to ``ref`` over ``valid`` pixels as ``semantics`` allows: metric unchanged,
    relative times median(ref / y), affine disparity by least-squares scale and shift."""
    if semantics == "metric" or not valid.any():
        return y
    if semantics == "relative":
        return y * np.float32(np.median(ref[valid] / y[valid]))
    s, t = lstsq_scale_shift(y[valid].astype(np.float64), ref[valid].astype(np.float64))
    return (y * s + t).astype(np.float32)


def disagreement(a: np.ndarray, b: np.ndarray, valid: np.ndarray, semantics: str) -> np.ndarray:
    """Per-pixel disagreement of two aligned labels (see the module docstring)."""
    if label_domain(semantics) == "depth":
        return np.abs(a - b) / np.maximum((a + b) / 2, 1e-6)
    med = float(np.median(np.abs(a[valid]))) if valid.any() else 1.0
    return np.abs(a - b) / max(med, 1e-6)


def flip_tta(predict: Callable[[np.ndarray], np.ndarray], rgb: np.ndarray, semantics: str,
             threshold: float = DEFAULT_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """(label, confidence mask) of one frame from ``predict`` on it and on its mirror."""
    a = np.asarray(predict(rgb), np.float32)
    b = np.asarray(predict(np.ascontiguousarray(rgb[:, ::-1])), np.float32)[:, ::-1]
    valid = valid_label(a, semantics) & valid_label(b, semantics)
    b = align_label(b, a, valid, semantics)
    label = (a + b) / 2
    keep = valid & (disagreement(a, b, valid, semantics) <= threshold) & valid_label(label, semantics)
    return np.where(keep, label, 0).astype(np.float32), keep


def combine_teachers(labels: Sequence[np.ndarray], masks: Sequence[np.ndarray], semantics: str) -> tuple[np.ndarray, np.ndarray]:
    """The mean of several teachers' labels, each aligned to the first; kept where all kept it."""
    keep = np.logical_and.reduce([np.asarray(m, bool) for m in masks])
    ref = labels[0]
    aligned = [ref] + [align_label(y, ref, keep, semantics) for y in labels[1:]]
    label = np.mean(aligned, axis=0).astype(np.float32)
    return np.where(keep, label, 0).astype(np.float32), keep


def common_semantics(semantics: Sequence[str]) -> str:
    """The semantics several teachers share; mixing kinds is refused (align them yourself first)."""
    if len(set(semantics)) > 1:
        raise UsageError(f"distill.teachers: all teachers must have the same semantics, got {list(semantics)}")
    return semantics[0]


def storage_hw(region_hw: tuple[int, int], short_side: int) -> tuple[int, int]:
    """The stored size of a labelled region: its aspect, short side ``short_side`` (never enlarged)."""
    h, w = region_hw
    s = min(1.0, short_side / min(h, w))
    return max(1, round(h * s)), max(1, round(w * s))


def _resize_label(y: np.ndarray, keep: np.ndarray, hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    if y.shape == tuple(hw):
        return y, keep
    size = (hw[1], hw[0])
    label = cv2.resize(y, size, interpolation=cv2.INTER_LINEAR)
    # A resized pixel is kept only where every label pixel under it was (no blend with invalid zeros).
    mask = cv2.resize(keep.astype(np.float32), size, interpolation=cv2.INTER_LINEAR) > 0.999
    return np.where(mask, label, 0).astype(np.float32), mask


def label_frame(teachers: Sequence[Teacher], key: str, frame: np.ndarray, semantics: str, tta: bool,
                threshold: float, short_side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, label, mask) of one frame at its storage size. Every teacher labels the region of the
    first teacher's geometry (a centre crop to its input's aspect, or the whole frame for ``fit:
    resize``); precomputed labels are read for the whole frame and cropped the same way."""
    first = teachers[0]
    fit = getattr(first, "spec", None) and first.spec.fit
    if hasattr(first, "label_for"):
        box = (0, 0, *frame.shape[:2])
    else:
        box = center_crop_box(frame.shape[:2], first.input_hw) if fit == "crop" else (0, 0, *frame.shape[:2])
    top, left, h, w = box
    region = frame[top:top + h, left:left + w]
    hw = storage_hw((h, w), short_side)
    labels, masks = [], []
    for t in teachers:
        if hasattr(t, "label_for"):
            y = t.label_for(key, frame.shape[:2])[top:top + h, left:left + w]
            keep = valid_label(y, semantics)
        elif tta:
            y, keep = flip_tta(t.predict, region, semantics, threshold)
        else:
            y = t.predict(region)
            keep = valid_label(y, semantics)
        y, keep = _resize_label(np.where(keep, y, 0).astype(np.float32), keep, hw)
        labels.append(y)
        masks.append(keep)
    label, keep = combine_teachers(labels, masks, semantics) if len(teachers) > 1 else (labels[0], masks[0])
    return resize_rgb(region, hw), label, keep


def cache_key(teachers: Sequence[Teacher], source: FrameSource, options: dict) -> str:
    blob = json.dumps({"format": CACHE_FORMAT, "teachers": [t.describe() for t in teachers],
                       "source": source.describe(), "options": options}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def label_source(teachers: Sequence[Teacher], source: FrameSource, cache_dir: str | Path, *, tta: bool = True,
                 threshold: float = DEFAULT_THRESHOLD, short_side: int = 256, strict: bool = False,
                 log: Callable[[str], None] = print) -> Path:
    """The cache folder of ``source`` labelled by ``teachers``: found, or computed once and written
    atomically (an interrupted run leaves no half-written folder)."""
    semantics = common_semantics([t.semantics for t in teachers])
    options = {"tta": bool(tta), "threshold": float(threshold), "short_side": int(short_side)}
    key = cache_key(teachers, source, options)
    folder = Path(cache_dir) / "pseudo" / f"{source.name}-{key}"
    if (folder / "meta.json").is_file():
        log(f"  {source.name}: cached ({folder})")
        return folder
    precomputed = [t for t in teachers if hasattr(t, "check_names")]
    frames = list(iter_source(source, strict))
    for t in precomputed:
        t.check_names([k for k, _ in frames])
    shapes = {f.shape[:2] for _, f in frames}
    if len(shapes) > 1:  # a folder of photos of different sizes: store each at one common size
        frames = [(k, center_crop(f, teachers[0].input_hw) if not precomputed else f) for k, f in frames]
    out = [label_frame(teachers, k, f, semantics, tta, threshold, short_side) for k, f in frames]
    sizes = {o[0].shape for o in out}
    if len(sizes) > 1:
        hw = out[0][0].shape[:2]
        out = [(resize_rgb(i, hw), *_resize_label(y, m, hw)) for i, y, m in out]
    images = np.stack([o[0] for o in out])
    labels = np.stack([o[1] for o in out]).astype(np.float16)
    masks = np.stack([o[2] for o in out]).astype(np.uint8)
    kept = float(masks.mean())
    meta = {"format": CACHE_FORMAT, "source": source.describe() | {"path": source.path}, "semantics": semantics,
            "teachers": [t.describe() for t in teachers], "options": options, "keys": [k for k, _ in frames],
            "frames": len(frames), "hw": list(images.shape[1:3]), "kept_fraction": kept}

    def write(tmp: Path) -> None:
        tmp.mkdir()
        np.save(tmp / "images.npy", images)
        np.save(tmp / "labels.npy", labels)
        np.save(tmp / "masks.npy", masks)
        atomic_write_text(tmp / "meta.json", json.dumps(meta, indent=1))

    atomic_write_with(folder, write)
    shutil.rmtree(folder.with_name(f".{folder.name}.old"), ignore_errors=True)
    log(f"  {source.name}: {len(frames)} frames labelled at {images.shape[2]}x{images.shape[1]}, "
        f"{kept * 100:.1f}% of pixels kept by the confidence mask -> {folder}")
    return folder


__all__ = ["align_label", "combine_teachers", "flip_tta", "label_source"]
