"""One object for every depth model a user has: ``load(ref)`` -> ``DepthModel``, whose ``predict``
takes uint8 RGB at any size and returns a ``DepthResult`` at that size.

TFLite files run through the manifest runtime, as a phone runs them; Keras files run with the spec
``train`` wrote beside them (``model_meta.json``). Either way the frame is brought to the model's
aspect without distortion (``fit``: ``crop`` keeps the centre, as the evaluation does; ``pad`` mirrors
the borders out and predicts every pixel), and the prediction is upsampled bilinearly back, so no
pixel block of the model's output grid shows."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from keras_depth.errors import DataError, UsageError
from keras_depth.geometry import center_crop_box, resize_rgb
from keras_depth.inference.result import DepthResult
from keras_depth.pretrained import resolve_model
from keras_depth.spec import decode_output

FITS = ("crop", "pad")


class DepthModel:
    """``predict(rgb)``: uint8 RGB [H, W, 3] -> ``DepthResult`` [H, W]; a batch [N, H, W, 3] or a list
    of images -> a list of results. ``input_hw``: the model's input size; ``semantics``: ``metric``,
    ``relative`` or ``affine_disparity``."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], input_hw: tuple[int, int], semantics: str,
                 source: str, fov_deg: Optional[float] = None, batch_run: Optional[Callable[[np.ndarray], np.ndarray]] = None):
        self._run, self._batch_run = run, batch_run
        self.input_hw, self.semantics, self.source, self.fov_deg = input_hw, semantics, source, fov_deg

    def predict(self, rgb, fit: str = "crop"):
        if fit not in FITS:
            raise UsageError(f"fit: expected one of {FITS}, got {fit!r}")
        if isinstance(rgb, (list, tuple)) or (isinstance(rgb, np.ndarray) and rgb.ndim == 4):
            return self._predict_many(list(rgb), fit)
        return self._predict_many([rgb], fit)[0]

    def _predict_many(self, images: Sequence[np.ndarray], fit: str) -> list[DepthResult]:
        for img in images:
            _check_rgb(img)
        prepared = [_to_model_aspect(img, self.input_hw, fit) for img in images]
        inputs = [resize_rgb(p[0], self.input_hw) for p in prepared]
        if self._batch_run is not None and len(inputs) > 1:
            outputs = list(self._batch_run(np.stack(inputs)))
        else:
            outputs = [self._run(x) for x in inputs]
        return [self._result(img, out, box, fit) for img, out, (_, box) in zip(images, outputs, prepared)]

    def _result(self, img: np.ndarray, out: np.ndarray, box: tuple[int, int, int, int], fit: str) -> DepthResult:
        import cv2

        h, w = img.shape[:2]
        top, left, bh, bw = box
        up = cv2.resize(native_grid(np.asarray(out, np.float32)), (bw, bh), interpolation=cv2.INTER_LINEAR)
        if fit == "pad":  # the box is the padded frame; the image sits inside it at (-top, -left)
            values, valid = up[-top:-top + h, -left:-left + w], np.ones((h, w), bool)
        else:
            values = np.full((h, w), np.nan, np.float32)
            values[top:top + bh, left:left + bw] = up
            valid = np.zeros((h, w), bool)
            valid[top:top + bh, left:left + bw] = True
        valid &= np.isfinite(values)
        return DepthResult(np.ascontiguousarray(values, np.float32), valid, self.semantics, img, self.fov_deg, self.source)


def native_grid(out: np.ndarray) -> np.ndarray:
    """The map at the resolution the model really predicts: a head that predicts at 1/s resolution and
    repeats each value over s x s pixels (``output_stride``, a nearest upsampling in the graph) gives
    exact s x s blocks, which bilinear upsampling would keep as visible steps; those come back as one
    pixel each (s = 4 or 2), so the upsampling interpolates between the real predictions."""
    h, w = out.shape
    for s in (4, 2):
        if h % s == 0 and w % s == 0 and h > s and w > s:
            blocks = out.reshape(h // s, s, w // s, s)
            if np.array_equal(blocks, np.broadcast_to(blocks[:, :1, :, :1], blocks.shape), equal_nan=True):
                return np.ascontiguousarray(out[::s, ::s])
    return out


def _check_rgb(img) -> None:
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        shape = getattr(img, "shape", None)
        raise UsageError(f"predict: expected uint8 RGB [H, W, 3] (or a batch [N, H, W, 3]), got "
                         f"{getattr(img, 'dtype', type(img).__name__)} {shape}")
    if min(img.shape[:2]) < 2:
        raise UsageError(f"predict: image of {img.shape[0]}x{img.shape[1]} pixels is too small")


def _to_model_aspect(img: np.ndarray, input_hw: tuple[int, int], fit: str) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """(the frame at the model's aspect, its box (top, left, h, w) in the image's pixels): a centred
    crop, or for ``pad`` the image mirrored out to the aspect (negative top/left: the padding)."""
    import cv2

    if fit == "crop":
        top, left, h, w = center_crop_box(img.shape[:2], input_hw)
        return img[top:top + h, left:left + w], (top, left, h, w)
    H, W = img.shape[:2]
    ah, aw = input_hw
    if H * aw > W * ah:  # too tall: widen
        h, w = H, max(W, round(H * aw / ah))
    else:
        h, w = max(H, round(W * ah / aw)), W
    pt, pl = (h - H) // 2, (w - W) // 2
    padded = cv2.copyMakeBorder(img, pt, h - H - pt, pl, w - W - pl, cv2.BORDER_REFLECT_101)
    return padded, (-pt, -pl, h, w)


def load(ref: str | Path | None = None, num_threads: int = 2, unsafe: bool = False) -> DepthModel:
    """A model by name or path (``keras_depth.pretrained.resolve_model``): no ``ref``, the model
    that ships with the package; a shipped model's name (``NAME``, ``NAME:float32``, ``NAME:keras``);
    a ``.tflite`` (with its manifest embedded or beside it) or ``.keras``/``.h5`` (with the
    ``model_meta.json`` that ``train`` wrote beside it). ``unsafe``: load a Keras file without
    ``keras_depth.models.io``'s check for code."""
    path = resolve_model(ref)
    if path.suffix == ".tflite":
        return _load_tflite(path, num_threads)
    if path.suffix in (".keras", ".h5"):
        return _load_keras(path, unsafe)
    raise UsageError(f"{path}: expected a .tflite or a .keras/.h5 depth model")


def _load_tflite(path: Path, num_threads: int) -> DepthModel:
    from keras_depth.runtime.tflite import TFLiteDepthEstimator

    est = TFLiteDepthEstimator(path, num_threads=num_threads)
    o = est.manifest.output

    def run(x: np.ndarray) -> np.ndarray:
        return est.predict_depth(x) if o.semantics != "affine_disparity" else est.run_tensor(est.preprocess(x))

    return DepthModel(run, est.input_size, o.semantics, str(path), _card_fov(est.manifest.metrics))


def _load_keras(path: Path, unsafe: bool) -> DepthModel:
    import tensorflow as tf

    from keras_depth.models.io import load_trained_model, read_model_meta, require_depth_model

    model = require_depth_model(load_trained_model(path, unsafe=unsafe), path)
    hw = tuple(int(v) for v in model.input_shape[1:3])
    spec = read_model_meta(path, hw)
    if spec is None:
        raise DataError(f"{path}: no model_meta.json beside it (train writes it): without it the output's "
                        "meaning is unknown; export the model and predict with the .tflite")
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    lo_hi = spec.output_range

    def batch(xs: np.ndarray) -> np.ndarray:
        y = forward(xs.astype(np.float32) / 255.0).numpy()[..., 0]
        return y if spec.semantics == "affine_disparity" else np.asarray(decode_output(spec.kind, lo_hi, y), np.float32)

    return DepthModel(lambda x: batch(x[None])[0], hw, spec.semantics, str(path), None, batch)


def _card_fov(metrics: dict) -> Optional[float]:
    """The horizontal field of view a model's manifest says it assumes (``metrics.camera.hfov_deg``)."""
    camera = (metrics or {}).get("camera") or {}
    fov = camera.get("hfov_deg") if isinstance(camera, dict) else None
    return float(fov) if isinstance(fov, (int, float)) else None
