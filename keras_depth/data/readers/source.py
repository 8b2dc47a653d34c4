"""From a list of file records to a ``tf.data.Dataset`` of raw samples: the one place that decodes in
parallel, checks every sample against docs/contracts.md section 1, and skips-and-counts bad data.

A reader lists its records (plain dicts of paths and metadata) and gives a ``load(record)`` that
returns numpy arrays. Anything that goes wrong in ``load`` or the check -- a corrupt or truncated
file, a size mismatch, NaN/Inf/negative depth -- skips that sample, counts it, and logs one warning
naming the file (once per file per process). With ``strict=True`` the first one raises
:class:`DataError` with the path instead; inside ``tf.data`` that surfaces as a ``tf.errors.OpError``
whose message carries the same text, and :func:`reraise_data_error` turns it back into the DataError.
"""
from __future__ import annotations

import collections
import logging
import threading
from typing import Any, Callable, Optional, Sequence

import numpy as np
import tensorflow as tf

from keras_depth.errors import DataError, UsageError
from keras_depth.spec import SEMANTICS_NAMES

log = logging.getLogger("keras_depth.data")

Record = dict[str, Any]
Loader = Callable[[Record], dict[str, Any]]

# Record keys that hold file paths (for naming the bad one).
_FILE_KEYS = ("path", "rgb", "depth", "mask", "right", "depth_right", "calib")

UNKNOWN_INTRINSICS = np.full([4], -1.0, np.float32)
# Calibration files and reader options give cx, cy with pixel centres at integer coordinates
# (OpenCV); samples put pixel j's centre at j + 0.5 (keras_depth.geometry, docs/data.md).
OPENCV_TO_SAMPLE = np.array([0.0, 0.0, 0.5, 0.5], np.float32)

# Output signature of one sample: name -> (dtype, shape); stereo pairs add the *_right views.
MONO_SPEC: dict[str, tuple[tf.DType, list]] = {
    "image": (tf.uint8, [None, None, 3]),
    "depth": (tf.float32, [None, None, 1]),
    "mask": (tf.float32, [None, None, 1]),
    "semantics": (tf.int32, []),
    "intrinsics": (tf.float32, [4]),
}
STEREO_SPEC: dict[str, tuple[tf.DType, list]] = {
    **MONO_SPEC,
    "image_right": (tf.uint8, [None, None, 3]),
    "depth_right": (tf.float32, [None, None, 1]),
    "mask_right": (tf.float32, [None, None, 1]),
    "intrinsics_right": (tf.float32, [4]),
    "baseline": (tf.float32, []),  # metres; -1 where unknown
}


class BadDataLog:
    """Skipped samples in this process, per reader name. Thread-safe (tf.data decodes in parallel)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()
        self.files: dict[str, str] = {}  # path -> first reason
        self.strict_errors: dict[str, DataError] = {}  # message -> error, for reraise_data_error

    def report(self, reader: str, path: str, reason: str, strict: bool) -> None:
        reason = " ".join(str(reason).split())  # one line, whatever the decoder said
        message = reason if reason.startswith(str(path)) else f"{path}: {reason}"
        if strict:
            err = DataError(f"{reader}: {message}")
            with self._lock:
                self.strict_errors[str(err)] = err
            raise err
        with self._lock:
            self.counts[reader] += 1
            first = path not in self.files
            if first:
                self.files[path] = reason
            n = self.counts[reader]
        if first:
            log.warning("%s: skipping %s (%d bad sample(s) skipped in %s so far)", reader, message, n, reader)

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.files.clear()
            self.strict_errors.clear()


BAD_DATA = BadDataLog()


def bad_data_counts() -> dict[str, int]:
    """How many samples each reader has skipped in this process (every skip, not unique files)."""
    return dict(BAD_DATA.counts)


def reraise_data_error(error: BaseException) -> None:
    """If ``error`` (e.g. a ``tf.errors.OpError`` from iterating a strict dataset) wraps a DataError
    raised by a reader, raise that DataError (one line, with the path); otherwise return."""
    text = str(error)
    for message, err in list(BAD_DATA.strict_errors.items()):
        if message in text:
            raise err from None


def sample_intrinsics(calibration: Any) -> np.ndarray:
    """float32 [4] of a calibration's ``[fx, fy, cx, cy]`` (OpenCV pixel centres) in the sample
    convention (pixel centres at ``j + 0.5``); -1s when unknown (None, or fx <= 0)."""
    if calibration is None:
        return UNKNOWN_INTRINSICS
    k = np.asarray(calibration, np.float32).reshape(4)
    return k + OPENCV_TO_SAMPLE if k[0] > 0 else k


def check_sample(sample: dict[str, Any], path: str, stereo: bool = False) -> dict[str, Any]:
    """Check one decoded sample and bring it to the contract's dtypes and shapes.

    ``sample`` has ``image`` uint8 [H, W, 3]; ``depth`` float [H, W] or [H, W, 1] with 0 (or a
    ``mask`` of False) where invalid; ``semantics``; optionally ``intrinsics`` as a calibration gives
    them (``sample_intrinsics`` moves them to pixel centres at ``j + 0.5``). Raises DataError on a
    size mismatch or NaN/Inf/negative depth.
    """
    out: dict[str, Any] = {}
    views = [("", "")] + ([("_right", " (right)")] if stereo else [])
    image_hw = None
    for suffix, label in views:
        image = np.asarray(sample["image" + suffix])
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise DataError(f"{path}: image{label} must be uint8 [H, W, 3], got {image.dtype} {image.shape}")
        if image_hw is None:
            image_hw = image.shape[:2]
        elif image.shape[:2] != image_hw:
            raise DataError(f"{path}: size mismatch: left image {image_hw[1]}x{image_hw[0]}, right image {image.shape[1]}x{image.shape[0]}")
        depth = sample.get("depth" + suffix)
        if depth is None:  # no ground truth for this view (e.g. a self-supervised stereo pair)
            depth = np.zeros(image.shape[:2], np.float32)
            valid = np.zeros(image.shape[:2], bool)
        else:
            depth = np.asarray(depth, np.float32)
            if depth.ndim == 3 and depth.shape[2] == 1:
                depth = depth[..., 0]
            if depth.shape != image.shape[:2]:
                dw = depth.shape[1] if depth.ndim > 1 else "?"
                raise DataError(f"{path}: size mismatch: image{label} {image.shape[1]}x{image.shape[0]}, depth {dw}x{depth.shape[0]}")
            if not np.isfinite(depth).all():
                bad = int((~np.isfinite(depth)).sum())
                raise DataError(f"{path}: depth{label} has {bad} NaN/Inf value(s)")
            if (depth < 0).any():
                raise DataError(f"{path}: depth{label} has negative values (min {float(depth.min()):.4g})")
            valid = depth > 0
            mask = sample.get("mask" + suffix)
            if mask is not None:
                mask = np.asarray(mask)
                if mask.ndim == 3 and mask.shape[2] == 1:
                    mask = mask[..., 0]
                if mask.shape != depth.shape:
                    raise DataError(f"{path}: size mismatch: depth{label} {depth.shape[1]}x{depth.shape[0]}, mask {mask.shape[1]}x{mask.shape[0]}")
                valid &= mask.astype(bool)
        out["image" + suffix] = image
        out["depth" + suffix] = np.where(valid, depth, 0).astype(np.float32)[..., None]
        out["mask" + suffix] = valid.astype(np.float32)[..., None]
        out["intrinsics" + suffix] = sample_intrinsics(sample.get("intrinsics" + suffix))
    sem = int(sample["semantics"])
    if sem not in SEMANTICS_NAMES:
        raise DataError(f"{path}: semantics code {sem} is not one of {sorted(SEMANTICS_NAMES)}")
    out["semantics"] = np.int32(sem)
    if stereo:
        out["baseline"] = np.float32(sample.get("baseline", -1.0))
    return out


def _dummy(spec: dict[str, tuple[tf.DType, list]]) -> list[np.ndarray]:
    return [np.zeros([1 if d is None else d for d in shape], dtype.as_numpy_dtype) for dtype, shape in spec.values()]


def load_checked(name: str, records: Sequence[Record], load: Loader, index: int, strict: bool, stereo: bool) -> Optional[dict[str, Any]]:
    """Load and check record ``index``; None (counted, warned) when it is bad, unless strict."""
    record = records[index]
    path = str(record.get("path", record))
    try:
        return check_sample(load(record), path, stereo)
    except DataError as e:
        reason = str(e)
    except Exception as e:  # noqa: BLE001 -- any decoder failure is a bad file, never a crash mid-epoch
        reason = f"{type(e).__name__}: {e}"
    # Blame the file the decoder named (the depth map, say), else the record's main file.
    files = [str(v) for k, v in record.items() if k in _FILE_KEYS and v]
    blamed = next((f for f in files if reason.startswith(f)), path)
    BAD_DATA.report(name, blamed, reason, strict)
    return None


def records_dataset(
    name: str,
    records: Sequence[Record],
    load: Loader,
    *,
    stereo: bool = False,
    strict: bool = False,
    shuffle: bool = False,
    seed: Optional[int] = None,
    num_parallel_calls: Any = tf.data.AUTOTUNE,
) -> tf.data.Dataset:
    """A dataset of raw samples, one per record, decoded in parallel by ``load`` and checked.

    Records are shuffled (cheaply, before decoding) each epoch when ``shuffle``. Order is otherwise
    deterministic. A record's ``path`` is the file named in warnings and errors.
    """
    if not records:
        raise DataError(f"{name}: no samples found")
    records = list(records)
    spec = STEREO_SPEC if stereo else MONO_SPEC
    keys = list(spec)
    dtypes = [d for d, _ in spec.values()]

    def _load(index: np.ndarray) -> list[np.ndarray]:
        sample = load_checked(name, records, load, int(index), strict, stereo)
        if sample is None:
            return [np.bool_(False)] + _dummy(spec)
        return [np.bool_(True)] + [np.asarray(sample[k], dtype=d.as_numpy_dtype) for k, d in zip(keys, dtypes)]

    def _map(index: tf.Tensor):
        flat = tf.numpy_function(_load, [index], [tf.bool] + dtypes, stateful=False)
        ok = tf.ensure_shape(flat[0], [])
        return ok, {k: tf.ensure_shape(t, shape) for k, t, (_, shape) in zip(keys, flat[1:], spec.values())}

    ds = tf.data.Dataset.range(len(records))
    if shuffle:
        ds = ds.shuffle(len(records), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(_map, num_parallel_calls=num_parallel_calls, deterministic=True)
    return ds.filter(_is_ok).map(_drop_ok)


def _is_ok(ok: tf.Tensor, sample: dict) -> tf.Tensor:
    return ok


def _drop_ok(ok: tf.Tensor, sample: dict) -> dict:
    return sample


def report_missing(name: str, path: str, reason: str, strict: bool) -> None:
    """A problem found while listing files (e.g. an image without its depth): skip-and-count, or raise."""
    BAD_DATA.report(name, path, reason, strict)


def intrinsics_option(value: Any, where: str) -> Optional[np.ndarray]:
    """A reader option ``intrinsics: [fx, fy, cx, cy]`` as in a calibration file (pixel centres at
    integer coordinates, OpenCV) -> float32[4] (None stays None)."""
    if value is None:
        return None
    try:
        arr = np.asarray(value, np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: intrinsics must be [fx, fy, cx, cy], got {value!r}") from None
    if arr.shape != (4,):
        raise UsageError(f"{where}: intrinsics must be [fx, fy, cx, cy], got {value!r}")
    return arr.astype(np.float32)


def load_rgbd(record: Record) -> dict[str, Any]:
    """The common loader: ``rgb`` image file, ``depth`` file in ``format`` divided by ``scale``, an
    optional ``mask`` file (valid where non-zero), ``semantics`` code and ``intrinsics``."""
    from keras_depth.data.readers.decode import read_depth, read_image, read_mask

    image = read_image(record["rgb"])
    depth, valid = read_depth(record["depth"], record.get("format"), record.get("scale"))
    if record.get("mask"):
        mask = read_mask(record["mask"])
        if mask.shape != valid.shape:
            raise DataError(f"{record['mask']}: size mismatch: mask {mask.shape[1]}x{mask.shape[0]}, depth {valid.shape[1]}x{valid.shape[0]}")
        valid &= mask
    max_depth = record.get("max_depth")
    if max_depth is not None:
        valid &= depth <= max_depth
        depth = np.where(valid, depth, 0)
    return {"image": image, "depth": depth, "mask": valid, "semantics": record["semantics"], "intrinsics": record.get("intrinsics")}
