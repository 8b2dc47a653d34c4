"""Image files read and written without TensorFlow: the whole-file checks and decoding the dataset
readers use (``keras_depth.data.readers.decode`` imports them from here), and PFM writing. A user's
photo goes through these in ``keras-depth predict``, whose TFLite path loads no TensorFlow.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

from keras_depth.errors import DataError

PathLike = Union[str, os.PathLike]

_JPEG_EOI = b"\xff\xd9"
_PNG_IEND = b"IEND"


def read_bytes(path: PathLike) -> bytes:
    path = str(path)
    try:
        if "://" in path:
            import tensorflow as tf

            with tf.io.gfile.GFile(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def _check_complete(path: PathLike, data: bytes) -> None:
    """A truncated PNG or JPEG still decodes (libjpeg fills grey, some libpng builds return the rows
    read so far); the end-of-image marker is what tells a whole file from a cut one."""
    suffix = Path(str(path)).suffix.lower()
    if not data:
        raise DataError(f"{path}: empty file")
    if suffix == ".png" and data[:8] == b"\x89PNG\r\n\x1a\n" and _PNG_IEND not in data[-32:]:
        raise DataError(f"{path}: truncated PNG (no IEND chunk)")
    # 0xFFD9 cannot occur inside JPEG entropy-coded data (0xFF is byte-stuffed), so its absence near
    # the end means the scan was cut.
    if suffix in (".jpg", ".jpeg") and data[:2] == b"\xff\xd8" and _JPEG_EOI not in data[-1024:]:
        raise DataError(f"{path}: truncated JPEG (no end-of-image marker)")


def decode_image_file(path: PathLike, flags: int) -> np.ndarray:
    """The image in ``path`` as ``cv2.imdecode`` gives it with ``flags``, after the whole-file checks; a
    DataError naming the file when it is empty, cut or not an image."""
    import cv2

    data = read_bytes(path)
    _check_complete(path, data)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if img is None or img.size == 0:
        raise DataError(f"{path}: cannot decode image (corrupt or not an image)")
    return img


def read_rgb(path: PathLike) -> np.ndarray:
    """uint8 [H, W, 3] RGB from any image OpenCV reads (grey images are replicated to 3 channels)."""
    import cv2

    img = decode_image_file(path, cv2.IMREAD_COLOR)
    if img.dtype != np.uint8:
        raise DataError(f"{path}: expected an 8-bit colour image, got {img.dtype}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def write_pfm(path: PathLike, array: np.ndarray, little_endian: bool = True) -> None:
    """Write a float map as PFM (bottom row first), e.g. to hand disparity to other tools."""
    arr = np.asarray(array, np.float32)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    header = b"PF" if arr.ndim == 3 else b"Pf"
    h, w = arr.shape[:2]
    scale = -1.0 if little_endian else 1.0
    body = np.ascontiguousarray(arr[::-1]).astype("<f4" if little_endian else ">f4").tobytes()
    from keras_depth.io import atomic_write_bytes

    atomic_write_bytes(path, header + b"\n%d %d\n%s\n" % (w, h, repr(scale).encode()) + body)
