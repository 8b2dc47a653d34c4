"""Conversion of the trained model into deployable variants, each with a manifest and a parity check.

Variants (``VARIANTS``):
- ``saved_model``: the float graph as a TF SavedModel (serving signature), for servers and re-conversion;
- ``float32``: TFLite, float weights and activations;
- ``float16``: TFLite with float16 weights (dequantized at load, or run in fp16 by the GPU delegate);
- ``int8_dynamic``: dynamic-range quantization: int8 weights, float activations and interface;
- ``int8_ptq``: full-integer post-training quantization, calibrated on a configured dataset
  (``export.calibration``, default the training split), optionally with named layers kept in float;
- ``int8_qat``: full-integer from the quantization-aware model (ranges from its fake-quant nodes);
- ``int16x8``: PTQ in TFLite's 16x8 mode: int16 activations, int8 weights, float32 interface;
- ``int8_float_out``: the ``int8_ptq`` body, its output dequantized inside the graph (float32 out).
The full-integer variants take ``export.io_dtype`` (uint8, int8 or float32) at input and output
(``int8_float_out`` at its input only); every variant has static shapes [1, h, w, 3] -> [1, h, w, 1].
Every integer variant quantizes its output over exactly the spec's output range (``export.output_range``). Each ``.tflite`` carries its manifest both
beside it (JSON) and inside it (metadata ``keras_depth_manifest``).
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from export.converters import convert_float16, convert_float32, convert_int8_dynamic
from export.manifest import embed_manifest, write_manifest
from export.model_manifest import build_manifest, keras_manifest
from export.op_report import format_op_report, op_report
from export.output_range import output_quantization
from export.parity import check_parity, parity_summary
from export.ptq import convert_int8_ptq
from export.qat_convert import convert_int8_qat
from export.saved_model import save_saved_model
from export.variant_names import VARIANTS
from keras_depth.config import Config
from keras_depth.data.calibration import calibration_summary, representative_images
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_bytes, atomic_write_text
from keras_depth.kerasapi import keras
from keras_depth.runtime.manifest import Manifest, manifest_path
from keras_depth.runtime.saved_model import saved_model_size_kib
from keras_depth.spec import DepthSpec


@dataclasses.dataclass
class ExportedModel:
    variant: str
    path: Path
    manifest: Manifest
    parity: dict
    seconds: float
    ops: Optional[dict] = None


def _needs_qat() -> UsageError:
    return UsageError("export: variant int8_qat needs the QAT model (run `keras-depth qat` first)")


def convert_variant(variant: str, model: keras.Model, qat_model: Optional[keras.Model], calib: np.ndarray,
                    io_dtype: str = "uint8", float_layers: Sequence[str] = (),
                    output_range: Optional[Sequence[float]] = None) -> tuple[bytes, keras.Model]:
    """(the .tflite bytes, the Keras model it must agree with) for one TFLite variant.

    ``output_range``: the spec's raw output range, which the integer variants' output is pinned to."""
    rep = lambda: (c[None] for c in calib)  # noqa: E731
    if variant == "float32":
        return convert_float32(model), model
    if variant == "float16":
        return convert_float16(model), model
    if variant == "int8_dynamic":
        return convert_int8_dynamic(model), model
    if variant == "int8_ptq":
        return convert_int8_ptq(model, rep, io_dtype, float_layers, output_range), model
    if variant == "int8_float_out":
        return convert_int8_ptq(model, rep, io_dtype, float_layers, output_range, output_dtype="float32"), model
    if variant == "int16x8":
        return convert_int8_ptq(model, rep, "float32", (), output_range, activations="int16"), model
    if variant == "int8_qat":
        if qat_model is None:
            raise _needs_qat()
        return convert_int8_qat(qat_model, io_dtype, model, rep, output_range), qat_model
    raise UsageError(f"export.variants: unknown {variant!r} (expected one of {VARIANTS})")


def write_tflite(path: Path, blob: bytes, manifest: Manifest) -> None:
    """The manifest JSON first, then the model with the same manifest embedded: a reader that finds
    the model always finds its manifest (each file is written atomically)."""
    json_path = manifest_path(path)
    previous = json_path.read_bytes() if json_path.is_file() else None
    write_manifest(manifest, path)
    try:
        atomic_write_bytes(path, embed_manifest(blob, manifest))
    except BaseException:
        # The model could not be written (a full disk): a manifest must not describe a model that
        # is not there, so the one from before is put back (or none left).
        try:
            if previous is not None:
                atomic_write_bytes(json_path, previous)
            else:
                json_path.unlink(missing_ok=True)
        except OSError:
            json_path.unlink(missing_ok=True)
        raise


def _export_saved_model(config: Config, model: keras.Model, spec: DepthSpec, xs: np.ndarray,
                        out_dir: Path) -> tuple[Path, Manifest, dict, None, float]:
    path = out_dir / "model_saved_model"
    manifest = keras_manifest(model, spec, "saved_model", path.name, config.sha256())
    save_saved_model(model, path, manifest)
    parity = check_parity(model, path, xs, "saved_model", spec)
    manifest.metrics["parity"] = parity_summary(parity)
    write_manifest(manifest, path)
    return path, manifest, parity, None, saved_model_size_kib(path)


def _export_tflite(config: Config, variant: str, model: keras.Model, qat_model: Optional[keras.Model],
                   calib: np.ndarray, spec: DepthSpec, xs: np.ndarray, out_dir: Path) -> tuple[Path, Manifest, dict, dict, float]:
    e = config.export
    blob, ref = convert_variant(variant, model, qat_model, calib, e.io_dtype,
                                e.float_layers if variant in ("int8_ptq", "int8_float_out") else (), spec.output_range)
    path = out_dir / f"model_{variant}.tflite"
    manifest = build_manifest(path.name, blob, variant, spec, config.sha256())
    parity = check_parity(ref, blob, xs, variant, spec, manifest)
    ops = op_report(blob)
    manifest.metrics["parity"] = parity_summary(parity)
    manifest.metrics["ops"] = {"int8_coverage": ops["int8_coverage"], "gpu_unsupported": ops["gpu_unsupported"],
                               "histogram": ops["ops"]}
    export_info = {"io_dtype": manifest.input.dtype, "output_quantization": output_quantization(blob, spec)}
    if variant in ("int8_ptq", "int8_float_out", "int16x8"):
        export_info["calibration"] = calibration_summary(config, len(calib))
        export_info["float_layers"] = list(e.float_layers)
    if variant == "int8_qat":
        export_info["float_layers"] = list(config.qat.float_layers)
    manifest.metrics["export"] = export_info
    write_tflite(path, blob, manifest)
    return path, manifest, parity, ops, path.stat().st_size / 1024


def export_variants(config: Config, model: keras.Model, qat_model: Optional[keras.Model], out_dir: Path,
                    variants: Optional[Iterable[str]] = None, log: Callable[[str], None] = print,
                    calib: Optional[np.ndarray] = None, check: bool = True) -> list[ExportedModel]:
    """Convert, parity-check and write (atomically, manifest first) each requested variant, then
    ``export_report.json``.

    ``calib``: calibration images (float [N, h, w, 3] in [0, 1]); default from ``export.calibration``.
    ``check``: raise when a variant is over its parity tolerance.
    """
    variants = list(variants or config.export.variants)
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise UsageError(f"export.variants: unknown {bad} (expected some of {VARIANTS})")
    if "int8_qat" in variants and qat_model is None:
        raise _needs_qat()
    spec = DepthSpec.from_dict(config.model.spec)
    if calib is None:
        calib = representative_images(config, config.export.representative_samples)
    xs = calib[: config.export.parity_samples]
    out_dir = Path(out_dir)
    results = []
    for v in variants:
        start = time.time()
        if v == "saved_model":
            path, manifest, parity, ops, size = _export_saved_model(config, model, spec, xs, out_dir)
        else:
            path, manifest, parity, ops, size = _export_tflite(config, v, model, qat_model, calib, spec, xs, out_dir)
        seconds = time.time() - start
        log(f"  {v:<12} {size:8.0f} KiB  parity vs Keras: max {parity['max_abs']:.4g} "
            f"mean {parity['mean_abs']:.3g} {spec.units} ({parity['mean_frac'] * 100:.4f}% of range) "
            f"{'ok' if parity['ok'] else 'OVER TOLERANCE ' + json.dumps(parity['tolerance'])}  [{seconds:.0f} s]")
        if ops:
            log("    " + format_op_report(path.name, ops).replace("\n", "\n    "))
        results.append(ExportedModel(v, path, manifest, parity, seconds, ops))
    atomic_write_text(out_dir / "export_report.json", json.dumps(
        {r.variant: {"path": r.path.name, "parity": parity_summary(r.parity), "tolerance": r.parity["tolerance"],
                     "ops": r.ops, "seconds": r.seconds} for r in results}, indent=2))
    failed = [r.variant for r in results if not r.parity["ok"]]
    if failed and check:
        raise RuntimeError(f"export parity over tolerance for {failed}; see the figures above")
    return results
