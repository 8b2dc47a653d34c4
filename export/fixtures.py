"""Golden fixtures for the Android ``depth-core`` JVM tests, written from a real exported model.

The Kotlin core must turn camera pixels into the same input tensor, and the model's raw output
into the same depth, as ``keras_depth.runtime.tflite.TFLiteDepthEstimator`` does; the fixtures pin that down:

- ``manifest.json``: the model's manifest, verbatim (the Kotlin parser reads the real thing);
- ``preprocess.json``: small synthetic ARGB frames (one smaller than the model input, which cv2
  enlarges with INTER_LINEAR, one larger, shrunk with INTER_AREA) -> the resized RGB and the input
  tensor ``TFLiteDepthEstimator.preprocess`` gives;
- ``postprocess.json``: the model's raw output for the first frame -> dequantized output -> depth;
- ``occlusion.json``: that depth + a virtual box (a constant-depth plane, partly translucent)
  -> visibility mask and composited pixels (the rule in ``occlusion_reference``);
- ``decode.json``: per output encoding (depth, disparity, log_depth) and output dtype (uint8, int8 with
  the output range pinned as ``export.output_range`` does it, float32 with values beyond the range):
  raw output -> dequantized -> depth by ``keras_depth.spec.decode_output`` (independent of the model);
- ``sparse_alignment.json``: prediction maps + sparse metric points -> the robust fit of
  ``keras_depth.alignment.align_to_points`` (scale, shift, inliers) or its error, per case
  (independent of the model).

``write_fixtures`` takes any exported model with its manifest beside it. ``build_tiny_model``
makes the small deterministic int8 model the committed fixtures come from, so a test can rebuild
it and check that the fixtures are current (tests/test_android_fixtures.py).

    keras-depth fixtures MODEL.tflite OUT_DIR
    keras-depth fixtures --tiny OUT_DIR     # build the tiny model (in a temp dir), then write

The committed fixtures (android_demo/depth-core/src/test/resources/fixtures) come from
``--tiny``; regenerate them with that command after changing this file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from export.manifest import write_manifest
from keras_depth.geometry import resize_rgb
from keras_depth.io import atomic_write_bytes, atomic_write_text
from keras_depth.kerasapi import keras, tf
from keras_depth.runtime.manifest import InputSpec, Manifest, OutputSpec, Quantization, read_manifest
from keras_depth.runtime.tflite import TFLiteDepthEstimator, load_interpreter

FIXTURE_FILES = ("manifest.json", "preprocess.json", "postprocess.json", "occlusion.json", "sparse_alignment.json",
                 "decode.json")
# Frame sizes (width, height): one enlarged (cv2 INTER_LINEAR), one shrunk (cv2 INTER_AREA) to the input.
FRAME_SIZES = ((20, 15), (50, 37))
TINY_INPUT_HW = (24, 32)


def synthetic_argb(width: int, height: int) -> np.ndarray:
    """A deterministic colour pattern as uint32 0xAARRGGBB [height, width] (alpha 255)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    r = (x * 13 + y * 7) % 256
    g = (x * x + 3 * y + 40) % 256
    b = (255 - 11 * x * y) % 256
    return ((255 << 24) | (r << 16) | (g << 8) | b).astype(np.uint32)


def argb_to_rgb(argb: np.ndarray) -> np.ndarray:
    """uint32 0xAARRGGBB [h, w] -> uint8 RGB [h, w, 3] (what Kotlin's Pixels.argbToRgb does)."""
    a = argb.astype(np.uint32)
    return np.stack([(a >> 16) & 0xFF, (a >> 8) & 0xFF, a & 0xFF], axis=-1).astype(np.uint8)


def occlusion_reference(background: np.ndarray, scene_depth: np.ndarray, obj_argb: np.ndarray, obj_depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The compositing rule depth-core implements (Occlusion.composite), in numpy.

    An object pixel shows only where ``obj_depth < scene_depth`` strictly and the scene depth is
    finite and > 0; visible pixels blend source-over with the object's alpha,
    ``(obj * a + bg * (255 - a) + 127) // 255`` per channel, alpha 255.
    """
    s = scene_depth.astype(np.float32)
    with np.errstate(invalid="ignore"):
        visible = np.isfinite(s) & (s > 0) & (obj_depth.astype(np.float32) < s)
    fg = obj_argb.astype(np.int64)
    bg = background.astype(np.int64)
    a = (fg >> 24) & 0xFF
    out = 255 << 24
    for shift in (16, 8, 0):
        ch = (((fg >> shift) & 0xFF) * a + ((bg >> shift) & 0xFF) * (255 - a) + 127) // 255
        out = out | (ch << shift)
    composited = np.where(visible, out, bg).astype(np.uint32)
    return visible, composited


def _dump(obj: Any) -> str:
    # Compact rows keep the files small and diffs readable; keys sorted for stable output.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"


def _ints(a: np.ndarray) -> list[int]:
    return [int(v) for v in np.asarray(a).reshape(-1)]


def _floats(a: np.ndarray) -> list[float]:
    # float32 -> the shortest repr that round-trips to the same float32 via float64.
    return [float(repr(float(v))) if np.isfinite(v) else None for v in np.asarray(a, np.float32).reshape(-1)]


def write_fixtures(model_path: str | os.PathLike, out_dir: str | os.PathLike) -> list[Path]:
    """Writes the fixture files for the ``.tflite`` at ``model_path`` (manifest beside it) into ``out_dir``."""
    model_path = Path(model_path)
    manifest = read_manifest(model_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def put(name: str, text: str) -> None:
        atomic_write_text(out / name, text)
        written.append(out / name)

    put("manifest.json", manifest.to_json() + "\n")
    m_in, m_out = manifest.input, manifest.output
    with TFLiteDepthEstimator(model_path, manifest) as est:
        cases = []
        tensors = []
        for w, h in FRAME_SIZES:
            argb = synthetic_argb(w, h)
            rgb = argb_to_rgb(argb)
            x = est.preprocess(rgb)
            tensors.append(x)
            resized = resize_rgb(rgb, (m_in.height, m_in.width))
            cases.append({
                "name": f"{'enlarge' if h < m_in.height else 'shrink'}_{w}x{h}",
                "width": w, "height": h, "argb": _ints(argb),
                "resized_rgb": _ints(resized),
                "tensor_dtype": str(x.dtype), "tensor": _ints(x) if x.dtype.kind in "iu" else _floats(x),
            })
        put("preprocess.json", _dump({"input_height": m_in.height, "input_width": m_in.width, "cases": cases}))

        it = est.interpreter
        it.set_tensor(est._in["index"], tensors[0])
        it.invoke()
        raw = it.get_tensor(est._out["index"])[0, ..., 0]
        y = est.run_tensor(tensors[0])
        depth = est.output_to_depth(y).astype(np.float32)
    put("postprocess.json", _dump({
        "width": m_out.width, "height": m_out.height, "raw_dtype": str(raw.dtype),
        "raw_output": _ints(raw) if raw.dtype.kind in "iu" else _floats(raw),
        "dequantized": _floats(y), "depth": _floats(depth),
    }))

    hh, ww = depth.shape
    background = synthetic_argb(ww, hh)
    plane = float(np.median(depth))
    obj_depth = np.full((hh, ww), np.inf, np.float32)
    obj_argb = np.zeros((hh, ww), np.uint32)
    y0, y1, x0, x1 = hh // 4, hh - hh // 4, ww // 4, ww - ww // 4
    obj_depth[y0:y1, x0:x1] = plane
    obj_argb[y0:y1, x0:x1] = 0xFF2E9BFF
    obj_argb[y0:y1, x0:(x0 + x1) // 2] = 0x80FF4020  # left half translucent: exercises the blend
    visible, composited = occlusion_reference(background, depth, obj_argb, obj_depth)
    put("occlusion.json", _dump({
        "width": ww, "height": hh, "scene_depth": _floats(depth), "background": _ints(background),
        "object_argb": _ints(obj_argb), "object_depth": _floats(obj_depth),  # null where absent (+inf)
        "visible": _ints(visible), "composited": _ints(composited),
    }))
    put("sparse_alignment.json", _dump({"cases": sparse_alignment_cases()}))
    put("decode.json", _dump({"cases": decode_cases()}))
    return written


# Integer levels of each decode case, as offsets from the dtype's lowest level: both ends, the middle.
DECODE_LEVELS = (0, 1, 2, 7, 64, 127, 128, 129, 200, 253, 254, 255)


def decode_cases(min_depth: float = 0.25, max_depth: float = 10.0) -> list[dict]:
    """Per output kind: uint8 and int8 outputs quantized over the pinned output range, and a float32
    output running past both ends of the range (the clip), each -> dequantized -> depth."""
    from export.output_range import LEVELS, nudged_quantization
    from keras_depth.spec import OUTPUT_KINDS, DepthSpec, decode_output, pinned_range

    cases = []
    for kind in OUTPUT_KINDS:
        spec = DepthSpec(kind=kind, min_depth=min_depth, max_depth=max_depth)
        lo, hi = spec.output_range
        for dtype in ("uint8", "int8"):
            scale, zp = nudged_quantization(*pinned_range((lo, hi)), dtype)
            raw = np.asarray(DECODE_LEVELS, np.int64) + LEVELS[dtype][0]
            y = Quantization(scale=scale, zero_point=zp).dequantize(raw)
            cases.append({"name": f"{kind}_{dtype}", "kind": kind, "range": [lo, hi], "dtype": dtype,
                          "scale": scale, "zero_point": zp, "raw": _ints(raw), "dequantized": _floats(y),
                          "depth": _floats(decode_output(kind, (lo, hi), y))})
        y = np.linspace(lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo), 9).astype(np.float32)
        cases.append({"name": f"{kind}_float32", "kind": kind, "range": [lo, hi], "dtype": "float32",
                      "raw": _floats(y), "dequantized": _floats(y), "depth": _floats(decode_output(kind, (lo, hi), y))})
    return cases


def sparse_alignment_cases() -> list[dict]:
    """Seeded cases for ``align_to_points``: scale for depth models, RANSAC scale and shift (all-pairs
    and LCG-pairs paths) for disparity, one point, and the degenerate inputs with their error."""
    from keras_depth.alignment import align_to_points
    from keras_depth.errors import UsageError

    rng = np.random.default_rng(7)
    cases = []

    def add(name: str, pred: np.ndarray, points: np.ndarray, semantics: str) -> None:
        pred = pred.astype(np.float32)
        case = {"name": name, "semantics": semantics, "width": int(pred.shape[1]), "height": int(pred.shape[0]),
                "pred": _floats(pred), "points": [[int(x), int(y), float(z)] for x, y, z in points]}
        try:
            fit = align_to_points(pred, points, semantics)
            case.update(scale=fit.scale, shift=fit.shift, inliers=fit.inliers)
        except UsageError as e:
            case["error"] = str(e)
        cases.append(case)

    for name, n, semantics in (("disparity_all_pairs", 20, "affine_disparity"), ("disparity_lcg_pairs", 45, "affine_disparity"),
                               ("relative_depth", 25, "relative")):
        pred = rng.uniform(0.2, 3.0, (12, 16)).astype(np.float32)
        xs, ys = rng.integers(0, 16, n), rng.integers(0, 12, n)
        at = pred[ys, xs].astype(np.float64)
        depth = 1 / (0.5 * at + 0.1) if semantics == "affine_disparity" else 2.5 * at
        depth = depth * (1 + 0.01 * rng.standard_normal(n))
        bad = rng.permutation(n)[: int(0.3 * n)]
        depth[bad] *= rng.uniform(2, 4, len(bad)) ** rng.choice([-1, 1], len(bad))
        add(name, pred, np.stack([xs, ys, depth], 1), semantics)
    flat = np.full((4, 6), 0.25, np.float32)
    add("one_point", flat, np.array([[1, 2, 2.0]]), "affine_disparity")
    ramp = np.arange(24, dtype=np.float32).reshape(4, 6) + 1
    add("no_points", ramp, np.zeros((0, 3)), "metric")
    add("one_depth", ramp, np.array([[1, 1, 2.0], [2, 2, 2.0], [3, 1, 2.0]]), "affine_disparity")
    add("outside", ramp, np.array([[1, 1, 2.0], [7, 1, 3.0]]), "metric")
    return cases


def build_tiny_model(out_dir: str | os.PathLike, seed: int = 0) -> Path:
    """A tiny deterministic full-int8 (uint8 in/out) disparity model + manifest in ``out_dir``.

    Weights come from a seeded numpy generator and calibration from a fixed dataset, so
    rebuilding gives the same quantization parameters and the same integer outputs.
    """
    h, w = TINY_INPUT_HW
    keras.utils.set_random_seed(seed)
    layers = keras.layers
    inp = keras.Input((h, w, 3), name="rgb")
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = layers.UpSampling2D(2, interpolation="bilinear")(x)
    x = layers.Conv2D(1, 3, padding="same", activation="sigmoid")(x)
    out = layers.Rescaling(2.0, name="disparity")(x)  # disparity in (0, 2): values below 0.1 exercise the clip
    model = keras.Model(inp, out, name="fixture_tiny")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.5, size=v.shape).astype(np.float32) for v in model.get_weights()])

    calib = np.random.default_rng(seed + 1).integers(0, 256, size=(8, 1, h, w, 3)).astype(np.float32) / 255.0
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = tf.uint8
    c.inference_output_type = tf.uint8
    c.representative_dataset = lambda: ([x] for x in calib)
    tflite = c.convert()

    out_dir = Path(out_dir)
    model_path = out_dir / "fixture_tiny.tflite"
    atomic_write_bytes(model_path, tflite)
    it = load_interpreter(tflite)
    di, do = it.get_input_details()[0], it.get_output_details()[0]

    def quant(d: dict) -> Quantization:
        scale, zp = d["quantization"]
        return Quantization(scale=float(scale), zero_point=int(zp))

    manifest = Manifest(
        model_file=model_path.name,
        variant="fixture_tiny_int8",
        input=InputSpec(height=h, width=w, dtype="uint8", quantization=quant(di)),
        output=OutputSpec(height=h, width=w, kind="disparity", semantics="relative", units="relative",
                          range=[0.1, 10.0], dtype="uint8", quantization=quant(do)),
        notes="tiny seeded model for the depth-core golden fixtures (export/fixtures.py build_tiny_model)",
    )
    write_manifest(manifest, model_path)
    return model_path
