"""Frame sequences, from a folder of images or a video file (OpenCV), for zero-shot inference and
temporal metrics (flicker). No ground truth: samples carry depth 0 and mask 0."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import tensorflow as tf

from keras_depth.imagefiles import read_rgb
from keras_depth.data.readers.listing import IMAGE_EXTS, list_files
from keras_depth.data.readers.source import BAD_DATA, check_sample, intrinsics_option
from keras_depth.data.registry import register_dataset
from keras_depth.errors import DataError, UsageError
from keras_depth.spec import RELATIVE

VIDEO_EXTS = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


def _check_stride(stride: int, start: int, max_frames: Optional[int]) -> None:
    if stride < 1 or start < 0 or (max_frames is not None and max_frames < 0):
        raise UsageError(f"frames: expected stride >= 1, start >= 0, max_frames >= 0, got {stride}, {start}, {max_frames}")


def iter_frames(path: str, stride: int = 1, start: int = 0, max_frames: Optional[int] = None,
                strict: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, uint8 [H, W, 3] RGB) for every ``stride``-th frame from ``start``, of a folder of
    images (sorted by name) or a video file. A frame that cannot be decoded is skipped with one warning
    (in a folder), or ends the stream with a warning (in a video: later frames depend on it)."""
    _check_stride(stride, start, max_frames)
    p = Path(path).expanduser()
    emitted = 0
    if p.is_dir():
        files = list_files(p, IMAGE_EXTS)
        if not files:
            raise UsageError(f"frames: no images in {p}")
        for i in range(start, len(files), stride):
            if max_frames is not None and emitted >= max_frames:
                return
            try:
                frame = read_rgb(files[i])
            except DataError as e:
                BAD_DATA.report("frames", str(files[i]), str(e), strict)
                continue
            emitted += 1
            yield i, frame
        return
    if not p.is_file():
        raise UsageError(f"frames: not a folder or video file: {p}")
    import cv2

    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        raise DataError(f"{p}: cannot open video (unknown container or codec)")
    try:
        if start:
            cap.set(cv2.CAP_PROP_POS_FRAMES, start)
        index = start
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        while max_frames is None or emitted < max_frames:
            ok, bgr = cap.read()
            if not ok:
                if total and index < total - 1:
                    BAD_DATA.report("frames", str(p), f"video decoding stopped at frame {index} of {total}", strict)
                return
            if (index - start) % stride == 0:
                emitted += 1
                yield index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        cap.release()


def video_info(path: str) -> dict[str, Any]:
    """frame count, fps (0 when unknown) and size of a video file or image folder."""
    p = Path(path).expanduser()
    if p.is_dir():
        files = list_files(p, IMAGE_EXTS)
        first = read_rgb(files[0]) if files else np.zeros((0, 0, 3), np.uint8)
        return {"frames": len(files), "fps": 0.0, "width": first.shape[1], "height": first.shape[0]}
    import cv2

    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        raise DataError(f"{p}: cannot open video")
    try:
        return {"frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), "fps": float(cap.get(cv2.CAP_PROP_FPS)),
                "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))}
    finally:
        cap.release()


@register_dataset("frames")
def frames_dataset(path: str, stride: int = 1, start: int = 0, max_frames: Optional[int] = None, intrinsics: Any = None,
                   strict: bool = False) -> tf.data.Dataset:
    """Raw samples (no ground truth: depth 0, mask 0, semantics ``relative``) plus ``frame_index``
    (int64), in order, from a folder of images or a video file."""
    intr = intrinsics_option(intrinsics, "frames")
    _check_stride(stride, start, max_frames)
    if not Path(path).expanduser().exists():
        raise UsageError(f"frames: not a folder or video file: {path}")

    def gen() -> Iterator[dict[str, Any]]:
        for index, frame in iter_frames(path, stride, start, max_frames, strict):
            sample = check_sample({"image": frame, "depth": None, "semantics": RELATIVE, "intrinsics": intr}, f"{path}[{index}]")
            sample["frame_index"] = np.int64(index)
            yield sample

    signature = {
        "image": tf.TensorSpec([None, None, 3], tf.uint8),
        "depth": tf.TensorSpec([None, None, 1], tf.float32),
        "mask": tf.TensorSpec([None, None, 1], tf.float32),
        "semantics": tf.TensorSpec([], tf.int32),
        "intrinsics": tf.TensorSpec([4], tf.float32),
        "frame_index": tf.TensorSpec([], tf.int64),
    }
    return tf.data.Dataset.from_generator(gen, output_signature=signature)
