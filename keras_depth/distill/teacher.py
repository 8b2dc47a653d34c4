"""A loaded teacher (``Teacher``): any depth model a user has, run on frames, giving pseudo-labels,
and the input and output conventions every kind shares (``keras_depth.distill.teachers`` loads one
from its ``TeacherSpec``).

``Teacher.predict`` returns the label in the domain its semantics fixes (``label_domain``): depth
for ``metric`` (metres) and ``relative`` (up to scale), disparity for ``affine_disparity`` (up to
scale and shift), at the teacher's input resolution.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from keras_depth.errors import UsageError
from keras_depth.runtime.tflite import normalize_rgb
from keras_depth.teacher_spec import TeacherSpec

Runner = Callable[[np.ndarray], np.ndarray]  # prepared input [1, ...] -> raw output float32 [h, w]


def label_domain(semantics: str) -> str:
    """``depth`` or ``disparity``: what a label of ``semantics`` holds (docs/contracts.md section 1)."""
    return "disparity" if semantics == "affine_disparity" else "depth"


def fingerprint_path(path: Path) -> str:
    """sha256 of a file's bytes, or of a folder's files (relative name and bytes, sorted)."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


class Teacher:
    """One teacher, ready to label frames. ``calls`` counts forward passes (the cache's test)."""

    def __init__(self, spec: TeacherSpec, runner: Optional[Runner], input_hw: tuple[int, int],
                 semantics: str, output_kind: str, normalization: dict, channel_order: str,
                 input_dtype: str, quantize: Optional[Callable[[np.ndarray], np.ndarray]], layout: str,
                 fingerprint: str):
        self.spec = spec
        self.runner = runner
        self.input_hw = (int(input_hw[0]), int(input_hw[1]))
        self.semantics = semantics
        self.output_kind = output_kind
        self.normalization = normalization
        self.channel_order = channel_order
        self.input_dtype = input_dtype
        self.quantize = quantize
        self.layout = layout
        self.fingerprint = fingerprint
        self.name = spec.name or Path(spec.path).stem
        self.calls = 0

    @property
    def domain(self) -> str:
        return label_domain(self.semantics)

    def describe(self) -> dict[str, Any]:
        """What the pseudo-labels depend on besides the frames (part of the cache key)."""
        return {"name": self.name, "kind": self.spec.kind, "fingerprint": self.fingerprint,
                "semantics": self.semantics, "input_hw": list(self.input_hw), "output_kind": self.output_kind,
                "output_scale": self.spec.output_scale, "output_index": self.spec.output_index,
                "normalization": self.normalization, "channel_order": self.channel_order, "fit": self.spec.fit,
                "layout": self.layout}

    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 RGB [H, W, 3] (already cropped to the input's aspect when ``fit`` is crop) -> the
        input tensor [1, h, w, 3] (or [1, 3, h, w]) in the model's dtype."""
        x = normalize_rgb(rgb, self.input_hw, self.channel_order, self.normalization)
        x = self.quantize(x) if self.quantize is not None else x.astype(self.input_dtype)
        if self.layout == "NCHW":
            x = np.transpose(x, (2, 0, 1))
        return np.ascontiguousarray(x[None])

    def to_domain(self, raw: np.ndarray) -> np.ndarray:
        """Raw values (an output, or a precomputed file's) x ``output_scale``, inverted when the raw
        kind is not the label domain; 0 where unusable (non-finite, or a negative depth)."""
        y = np.asarray(raw, np.float32) * np.float32(self.spec.output_scale)
        kind = self.output_kind
        if kind == "log_depth":  # ln m (a log-depth export used as a teacher) -> m
            y, kind = np.exp(np.minimum(y, 80.0)), "depth"
        y = np.where(np.isfinite(y), y, 0.0).astype(np.float32)
        if kind != self.domain:  # depth <-> disparity
            y = np.where(y > 0, 1.0 / np.maximum(y, 1e-12), 0.0).astype(np.float32)
        if self.domain == "depth":
            y = np.maximum(y, 0.0)
        return y

    def to_label(self, raw: np.ndarray) -> np.ndarray:
        """Raw output -> label in ``domain`` (float32, ``input_hw``; 0 where the output is unusable)."""
        y = self.to_domain(raw)
        if y.shape != self.input_hw:  # heads at another resolution are read at the input's
            import cv2

            y = cv2.resize(y, (self.input_hw[1], self.input_hw[0]), interpolation=cv2.INTER_LINEAR)
        return y

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """The label of one frame (uint8 RGB, cropped to the input's aspect), float32 ``input_hw``."""
        if self.runner is None:
            raise UsageError(f"teacher {self.name}: a precomputed teacher has no model to run")
        self.calls += 1
        return self.to_label(self.runner(self.prepare(rgb)))


def input_normalization(value: Optional[dict], where: str) -> dict:
    """A block's ``normalization`` as 3 floats for each of scale and offset; pixel / 255 when None."""
    if value is None:
        return {"scale": [1 / 255.0] * 3, "offset": [0.0] * 3}
    if not isinstance(value, dict) or set(value) - {"scale", "offset"}:
        raise UsageError(f"{where}.normalization: expected {{scale: ..., offset: ...}}, got {value!r}")
    out = {}
    for key, default in (("scale", 1 / 255.0), ("offset", 0.0)):
        v = value.get(key, default)
        arr = np.broadcast_to(np.asarray(v, np.float64), (3,)) if np.ndim(v) in (0, 1) and np.size(v) in (1, 3) else None
        if arr is None or not np.isfinite(arr).all():
            raise UsageError(f"{where}.normalization.{key}: expected a number or 3 numbers, got {v!r}")
        out[key] = [float(a) for a in arr]
    return out


def _not_depth_model(where: str, shape: Any, what: str) -> None:
    raise UsageError(f"{where}: not a depth model ({what}: got shape {list(shape)})")


def input_layout(shape: list, where: str) -> tuple[str, Optional[tuple[int, int]]]:
    """(layout, (h, w) when static) of an image input's shape, or a UsageError."""
    if len(shape) != 4:
        _not_depth_model(where, shape, "expected one image input [1, h, w, 3] or [1, 3, h, w]")
    if shape[3] == 3:
        layout, hw = "NHWC", (shape[1], shape[2])
    elif shape[1] == 3:
        layout, hw = "NCHW", (shape[2], shape[3])
    else:
        _not_depth_model(where, shape, "expected 3 colour channels")
    static = all(isinstance(v, (int, np.integer)) and v > 0 for v in hw)
    return layout, (int(hw[0]), int(hw[1])) if static else None


def output_map(y: np.ndarray, where: str) -> np.ndarray:
    """[1, h, w, 1], [1, 1, h, w], [1, h, w] or [h, w] -> float32 [h, w]."""
    y = np.asarray(y)
    squeezed = y.reshape([d for d in y.shape if d != 1]) if y.ndim > 2 else y
    if squeezed.ndim != 2:
        raise UsageError(f"{where}: not a depth model (expected one output map [1, h, w, 1], got shape {list(y.shape)})")
    return squeezed.astype(np.float32)
