"""File formats of public depth datasets, decoded to numpy with their exact value semantics.

Every decoder raises :class:`keras_depth.errors.DataError` naming the file and what was wrong; the
caller (``source.py``) turns that into skip-and-count or, in strict mode, a failure.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from keras_depth.errors import DataError
# Whole-file image decoding lives in keras_depth.imagefiles, free of TensorFlow (predict reads photos
# without it); the readers decode through the same functions.
from keras_depth.imagefiles import decode_image_file, read_bytes, read_rgb
from keras_depth.spec import SEMANTICS_CODES, SEMANTICS_NAMES

PathLike = Union[str, os.PathLike]

# The float tag that opens Sintel .dpt/.cam files: the bytes 'PIEH' read as a little-endian float32.
SINTEL_TAG = 202021.25

def read_image(path: PathLike) -> np.ndarray:
    """uint8 [H, W, 3] RGB from an image file, or from a ``.npy`` array (uint8 0..255, or float 0..1
    as in the FastDepth NYU sample)."""
    if Path(str(path)).suffix.lower() != ".npy":
        return read_rgb(path)
    arr = read_npy(path)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise DataError(f"{path}: expected an [H, W, 3] image array, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr
    if not np.issubdtype(arr.dtype, np.floating) or not np.isfinite(arr).all():
        raise DataError(f"{path}: expected uint8 or finite float image values, got {arr.dtype}")
    if arr.min() < 0 or arr.max() > 1.0 + 1e-6:
        raise DataError(f"{path}: float image values must lie in [0, 1], got {arr.min():.4g}..{arr.max():.4g}")
    return np.round(arr * 255.0).astype(np.uint8)


def read_mask(path: PathLike) -> np.ndarray:
    """bool [H, W], True where valid: a ``.npy`` array or an image, non-zero = valid (DIODE, ETH3D masks)."""
    if Path(str(path)).suffix.lower() == ".npy":
        arr = read_npy(path)
    else:
        import cv2

        arr = decode_image_file(path, cv2.IMREAD_UNCHANGED)
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise DataError(f"{path}: expected a single-channel mask, got shape {arr.shape}")
    return arr != 0


def read_png16(path: PathLike) -> np.ndarray:
    """uint16 [H, W] from a 16-bit single-channel PNG, read unchanged (no scaling, no colour conversion)."""
    import cv2

    img = decode_image_file(path, cv2.IMREAD_UNCHANGED)
    if img.ndim != 2:
        raise DataError(f"{path}: expected a single-channel depth PNG, got shape {img.shape}")
    if img.dtype != np.uint16:
        raise DataError(f"{path}: expected a 16-bit depth PNG, got {img.dtype}")
    return img


def read_png8(path: PathLike) -> np.ndarray:
    """uint8 [H, W] from an 8-bit single-channel image (e.g. Middlebury 2005/2006 disparity)."""
    import cv2

    img = decode_image_file(path, cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        raise DataError(f"{path}: expected a single-channel 8-bit map, got shape {img.shape}")
    if img.dtype != np.uint8:
        raise DataError(f"{path}: expected an 8-bit map, got {img.dtype}")
    return img


def read_pfm(path: PathLike) -> np.ndarray:
    """float32 [H, W] (``Pf``) or [H, W, 3] (``PF``), top row first.

    PFM stores rows bottom-to-top; a negative scale means little-endian samples, positive big-endian
    (the |scale| itself is a unit hint that the format leaves to the producer and is not applied).
    """
    data = read_bytes(path)
    # Header: three whitespace-separated tokens then a single whitespace byte before the samples.
    m = re.match(rb"(P[Ff])\s+(\d+)\s+(\d+)\s+([-+0-9.eE]+)\s", data)
    if not m:
        raise DataError(f"{path}: not a PFM file (expected a 'PF' or 'Pf' header)")
    channels = 3 if m.group(1) == b"PF" else 1
    width, height = int(m.group(2)), int(m.group(3))
    try:
        scale = float(m.group(4))
    except ValueError:
        raise DataError(f"{path}: PFM scale {m.group(4)!r} is not a number") from None
    if width <= 0 or height <= 0 or scale == 0:
        raise DataError(f"{path}: PFM header has size {width}x{height}, scale {scale}")
    count = width * height * channels
    body = data[m.end():]
    if len(body) < 4 * count:
        raise DataError(f"{path}: truncated PFM ({len(body)} bytes of samples, expected {4 * count})")
    arr = np.frombuffer(body, dtype="<f4" if scale < 0 else ">f4", count=count)
    arr = arr.reshape((height, width, channels) if channels == 3 else (height, width))
    return np.ascontiguousarray(arr[::-1]).astype(np.float32)


def _sintel_header(path: PathLike, data: bytes) -> None:
    if len(data) < 4 or abs(float(np.frombuffer(data[:4], "<f4")[0]) - SINTEL_TAG) > 1e-3:
        raise DataError(f"{path}: not a Sintel file (expected the 'PIEH' tag {SINTEL_TAG})")


def read_dpt(path: PathLike) -> np.ndarray:
    """float32 [H, W] from a Sintel ``.dpt``: tag float32 202021.25, width int32, height int32, then
    width*height little-endian float32 depths, row-major, top row first (Sintel SDK ``depth_read``)."""
    data = read_bytes(path)
    _sintel_header(path, data)
    if len(data) < 12:
        raise DataError(f"{path}: truncated .dpt header")
    width, height = (int(v) for v in np.frombuffer(data[4:12], "<i4"))
    if not (0 < width < 100000 and 0 < height < 100000):
        raise DataError(f"{path}: .dpt size {width}x{height} is not plausible")
    count = width * height
    if len(data) - 12 < 4 * count:
        raise DataError(f"{path}: truncated .dpt ({len(data) - 12} bytes of samples, expected {4 * count})")
    return np.frombuffer(data[12:12 + 4 * count], "<f4").reshape(height, width).astype(np.float32)


def read_sintel_cam(path: PathLike) -> np.ndarray:
    """[fx, fy, cx, cy] from a Sintel ``.cam``: tag, then K (3x3 float64) and [R|t] (3x4 float64)."""
    data = read_bytes(path)
    _sintel_header(path, data)
    if len(data) < 4 + 9 * 8:
        raise DataError(f"{path}: truncated .cam file")
    k = np.frombuffer(data[4:4 + 72], "<f8").reshape(3, 3)
    return np.array([k[0, 0], k[1, 1], k[0, 2], k[1, 2]], np.float32)


def read_npy(path: PathLike) -> np.ndarray:
    import io

    data = read_bytes(path)
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable .npy array ({e})") from None


def parse_key_values(path: PathLike, sep: str = ":") -> dict[str, np.ndarray]:
    """KITTI calib files: ``KEY: v1 v2 ...`` per line -> float arrays (non-numeric lines skipped)."""
    text = read_bytes(path).decode("utf-8", "replace")
    out: dict[str, np.ndarray] = {}
    for line in text.splitlines():
        if sep not in line:
            continue
        key, _, rest = line.partition(sep)
        try:
            out[key.strip()] = np.array([float(v) for v in rest.split()], np.float64)
        except ValueError:
            continue
    return out


def read_middlebury_calib(path: PathLike) -> dict[str, Any]:
    """Middlebury 2014 / ETH3D ``calib.txt``: ``cam0=[f 0 cx; 0 f cy; 0 0 1]``, ``doffs``, ``baseline`` (mm)..."""
    text = read_bytes(path).decode("utf-8", "replace")
    out: dict[str, Any] = {}
    for line in text.splitlines():
        if "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if value.startswith("["):
            rows = [r.split() for r in value.strip("[]").split(";")]
            out[key.strip()] = np.array([[float(v) for v in r] for r in rows], np.float64)
        else:
            try:
                out[key.strip()] = float(value)
            except ValueError:
                out[key.strip()] = value
    for k in ("cam0", "baseline"):
        if k not in out:
            raise DataError(f"{path}: calib has no {k!r}")
    out.setdefault("doffs", 0.0)
    return out


def semantics_code(value: Union[str, int], where: str = "semantics") -> int:
    """'metric' | 'relative' | 'affine_disparity' (or the code) -> the int code of keras_depth.spec."""
    if isinstance(value, (int, np.integer)) and int(value) in SEMANTICS_NAMES:
        return int(value)
    if isinstance(value, str) and value.strip() in SEMANTICS_CODES:
        return SEMANTICS_CODES[value.strip()]
    raise DataError(f"{where}: expected one of {sorted(SEMANTICS_CODES)}, got {value!r}")


# Depth map encodings: name -> (decoder to a float map plus its validity, default divisor ``scale``).
def _png16(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    raw = read_png16(path)
    return raw.astype(np.float32), raw > 0


def _sunrgbd(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    # SUN RGB-D stores millimetres with the 16 bits rotated left by 3 (Open3D RGBDImageFactory).
    raw = read_png16(path)
    raw = (raw >> 3) | (raw << 13)
    return raw.astype(np.float32), raw > 0


def _png8(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    raw = read_png8(path)
    return raw.astype(np.float32), raw > 0


def _float_map(arr: np.ndarray, path: PathLike, inf_is_invalid: bool) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number):
        raise DataError(f"{path}: expected a 2-D numeric depth map, got {arr.dtype} {arr.shape}")
    arr = arr.astype(np.float32)
    valid = np.isfinite(arr) & (arr > 0)
    if inf_is_invalid:
        # Middlebury and ETH3D mark unknown disparity with +inf; NaN stays an error (caught later).
        arr = np.where(np.isinf(arr), np.float32(0), arr)
    return arr, valid


DEPTH_FORMATS: dict[str, tuple[Any, float]] = {
    "png16": (_png16, 1000.0),  # millimetres (NYU, Redwood, ScanNet); KITTI needs scale 256, TUM 5000
    "sunrgbd": (_sunrgbd, 1000.0),
    "png8": (_png8, 1.0),
    "npy": (lambda p: _float_map(read_npy(p), p, False), 1.0),
    "pfm": (lambda p: _float_map(read_pfm(p), p, True), 1.0),
    "dpt": (lambda p: _float_map(read_dpt(p), p, False), 1.0),
}
_EXT_FORMATS = {".png": "png16", ".npy": "npy", ".pfm": "pfm", ".dpt": "dpt"}


def depth_format_for(path: PathLike, fmt: Optional[str] = None) -> str:
    if fmt:
        if fmt not in DEPTH_FORMATS:
            raise DataError(f"depth format {fmt!r}: expected one of {sorted(DEPTH_FORMATS)}")
        return fmt
    suffix = Path(str(path)).suffix.lower()
    if suffix not in _EXT_FORMATS:
        raise DataError(f"{path}: cannot tell the depth format from the extension (give format: one of {sorted(DEPTH_FORMATS)})")
    return _EXT_FORMATS[suffix]


def read_depth(path: PathLike, fmt: Optional[str] = None, scale: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
    """(float32 [H, W] value = raw / scale, bool [H, W] valid) for one of :data:`DEPTH_FORMATS`.

    Invalid pixels are those the format marks (0 in PNGs, +inf in PFM); other non-finite or negative
    values are left in place for the sample check to reject the file.
    """
    fmt = depth_format_for(path, fmt)
    decode, default_scale = DEPTH_FORMATS[fmt]
    scale = default_scale if scale is None else float(scale)
    if not scale > 0:
        raise DataError(f"{path}: depth scale must be > 0, got {scale}")
    value, valid = decode(path)
    if scale != 1.0:
        value = value / np.float32(scale)
    return value.astype(np.float32), valid
