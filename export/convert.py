"""TFLite conversion of the trained model into deployable variants, each with a manifest and a parity check.

Variants: ``float32``; ``int8_ptq`` (full-integer post-training quantization, calibrated on the
training pipeline); ``int8_qat`` (from the quantization-aware model). Integer variants have integer
input and output (uint8 by default): a phone feeds raw camera pixels and reads the depth bytes.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np
import tensorflow as tf

from export.manifest import InputSpec, Manifest, OutputSpec, Quantization, write_manifest
from keras_depth.config import Config
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_bytes
from keras_depth.kerasapi import keras
from keras_depth.spec import DepthSpec

VARIANTS = ("float32", "int8_ptq", "int8_qat")
IO_DTYPES = {"uint8": tf.uint8, "int8": tf.int8, "float32": tf.float32}

# Parity thresholds, as fractions of the output range (hi - lo), against the Keras model the
# variant was converted from (docs/export.md explains them):
#  - float32 is the same arithmetic in another runtime: float rounding only.
#  - int8_qat runs the fake-quant graph for real: it differs by rounding at a few requantizations.
#  - int8_ptq is compared with the float model, so it carries the whole quantization error.
PARITY_TOLERANCE = {
    "float32": {"max_abs": 1e-4, "mean_abs": 1e-5},
    "int8_qat": {"max_abs": 0.10, "mean_abs": 0.01},
    "int8_ptq": {"max_abs": 0.25, "mean_abs": 0.03},
}


def convert_float32(model: keras.Model) -> bytes:
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def _integer_converter(model: keras.Model, io_dtype: str) -> tf.lite.TFLiteConverter:
    if io_dtype not in IO_DTYPES:
        raise UsageError(f"export.io_dtype: expected one of {sorted(IO_DTYPES)}, got {io_dtype!r}")
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.inference_input_type = IO_DTYPES[io_dtype]
    c.inference_output_type = IO_DTYPES[io_dtype]
    return c


def convert_int8_ptq(model: keras.Model, representative: Callable[[], Iterable[np.ndarray]], io_dtype: str = "uint8") -> bytes:
    """Full-integer PTQ; ``representative()`` yields float32 [1, h, w, 3] batches in [0, 1]."""
    c = _integer_converter(model, io_dtype)
    # Integer-only kernels: conversion fails rather than leave a float op behind. (Not for QAT models:
    # TF 2.21 then demands a representative dataset that a QAT graph does not need.)
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.representative_dataset = lambda: ([x] for x in representative())
    return c.convert()


def convert_int8_qat(qat_model: keras.Model, io_dtype: str = "uint8") -> bytes:
    """Integer model from a QAT model: the ranges come from its fake-quant nodes, no calibration."""
    return _integer_converter(qat_model, io_dtype).convert()


def _quant(details: dict) -> Optional[Quantization]:
    scale, zp = details["quantization"]
    if np.dtype(details["dtype"]).kind in "iu" and scale > 0:
        return Quantization(scale=float(scale), zero_point=int(zp))
    return None


def build_manifest(model_file: str, tflite_bytes: bytes, variant: str, spec: DepthSpec,
                   config_sha256: Optional[str] = None, metrics: Optional[dict] = None) -> Manifest:
    """The manifest of a converted model, its tensor facts read from the flatbuffer itself."""
    from export.runtime import load_interpreter

    it = load_interpreter(tflite_bytes, num_threads=1)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    _, h, w, c = (int(v) for v in inp["shape"])
    _, oh, ow, _ = (int(v) for v in out["shape"])
    return Manifest(
        model_file=model_file,
        variant=variant,
        input=InputSpec(height=h, width=w, channels=c, dtype=np.dtype(inp["dtype"]).name, quantization=_quant(inp)),
        output=OutputSpec(
            height=oh,
            width=ow,
            kind=spec.kind,
            semantics=spec.semantics,
            units="m" if spec.semantics == "metric" else "relative",
            range=list(spec.output_range),
            dtype=np.dtype(out["dtype"]).name,
            quantization=_quant(out),
        ),
        training_config_sha256=config_sha256,
        metrics=metrics or {},
    )


def check_parity(reference: keras.Model, model_path: Path, xs: np.ndarray, variant: str, spec: DepthSpec,
                 manifest: Optional[Manifest] = None) -> dict:
    """Max and mean |TFLite - Keras| on ``xs`` (float [N, h, w, 3] in [0, 1]), absolute and as a
    fraction of the output range, with the verdict against ``PARITY_TOLERANCE``."""
    from export.runtime import TFLiteDepthEstimator

    est = TFLiteDepthEstimator(model_path, manifest=manifest, num_threads=2)
    want = reference.predict(xs, verbose=0)[..., 0]
    got = np.stack([est.run_tensor(est.preprocess(np.round(x * 255).astype(np.uint8))) for x in xs])
    lo, hi = spec.output_range
    err = np.abs(got - want)
    res = {"max_abs": float(err.max()), "mean_abs": float(err.mean())}
    res["max_frac"] = res["max_abs"] / (hi - lo)
    res["mean_frac"] = res["mean_abs"] / (hi - lo)
    tol = PARITY_TOLERANCE[variant]
    res["tolerance"] = tol
    res["ok"] = bool(res["max_frac"] <= tol["max_abs"] and res["mean_frac"] <= tol["mean_abs"])
    return res


def representative_images(config: Config, count: int) -> np.ndarray:
    """Calibration images taken from the training pipeline (resized, not augmented)."""
    from keras_depth.data.pipeline import make_dataset

    ds = make_dataset(config, "train", batch_size=1, training=False, repeat=False).take(count)
    xs = np.concatenate([x.numpy() for x, _ in ds])
    if len(xs) == 0:
        raise UsageError("export: the training split yielded no calibration image")
    return xs


@dataclasses.dataclass
class ExportedModel:
    variant: str
    path: Path
    manifest: Manifest
    parity: dict
    seconds: float


def export_variants(config: Config, model: keras.Model, qat_model: Optional[keras.Model], out_dir: Path,
                    variants: Optional[Iterable[str]] = None, log: Callable[[str], None] = print) -> list[ExportedModel]:
    """Convert, write (atomically) with a manifest, and parity-check each requested variant."""
    variants = list(variants or config.export.variants)
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise UsageError(f"export.variants: unknown {bad} (expected some of {VARIANTS})")
    if "int8_qat" in variants and qat_model is None:
        raise UsageError("export: variant int8_qat needs the QAT model (run `keras-depth qat` first)")
    spec = DepthSpec.from_dict(config.model.spec)
    calib = representative_images(config, config.export.representative_samples)
    xs = calib[: config.export.parity_samples]
    results = []
    for v in variants:
        start = time.time()
        if v == "float32":
            blob, ref = convert_float32(model), model
        elif v == "int8_ptq":
            blob, ref = convert_int8_ptq(model, lambda: (c[None] for c in calib), config.export.io_dtype), model
        else:
            blob, ref = convert_int8_qat(qat_model, config.export.io_dtype), qat_model
        path = Path(out_dir) / f"model_{v}.tflite"
        manifest = build_manifest(path.name, blob, v, spec, config.sha256())
        atomic_write_bytes(path, blob)
        parity = check_parity(ref, path, xs, v, spec, manifest)
        manifest.metrics["parity"] = {k: parity[k] for k in ("max_abs", "mean_abs", "max_frac", "mean_frac", "ok")}
        write_manifest(manifest, path)
        seconds = time.time() - start
        log(f"  {v:<9} {len(blob) / 1024:8.0f} KiB  parity vs Keras: max {parity['max_abs']:.4f} "
            f"mean {parity['mean_abs']:.5f} {spec.units} ({parity['mean_frac'] * 100:.3f}% of range) "
            f"{'ok' if parity['ok'] else 'OVER TOLERANCE ' + json.dumps(parity['tolerance'])}  [{seconds:.0f} s]")
        results.append(ExportedModel(v, path, manifest, parity, seconds))
    failed = [r.variant for r in results if not r.parity["ok"]]
    if failed:
        raise RuntimeError(f"export parity over tolerance for {failed}; see the figures above")
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from keras_depth.training.cli import add_config_arguments

    add_config_arguments(parser)
    parser.add_argument("--model", help="float model (default: OUTPUT_DIR/model.keras)")
    parser.add_argument("--qat-model", help="QAT model (default: OUTPUT_DIR/model_qat.keras)")
    parser.add_argument("--variants", help=f"comma-separated subset of {','.join(VARIANTS)}")


def run(args: argparse.Namespace) -> int:
    from export.qat import load_qat_model
    from keras_depth.training.cli import load_config_from_args
    from keras_depth.training.trainer import load_trained_model

    config = load_config_from_args(args)
    out = Path(config.output_dir)
    variants = args.variants.split(",") if args.variants else config.export.variants
    model = load_trained_model(args.model or out / "model.keras")
    qat_path = Path(args.qat_model or out / "model_qat.keras")
    qat_model = load_qat_model(qat_path) if "int8_qat" in variants else None
    export_variants(config, model, qat_model, out, variants)
    return 0
