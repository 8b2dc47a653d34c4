"""Conversion of the trained model into deployable variants, each with a manifest and a parity check.

Variants (``VARIANTS``):
- ``saved_model``: the float graph as a TF SavedModel (serving signature), for servers and re-conversion;
- ``float32``: TFLite, float weights and activations;
- ``float16``: TFLite with float16 weights (dequantized at load, or run in fp16 by the GPU delegate);
- ``int8_dynamic``: dynamic-range quantization: int8 weights, float activations and interface;
- ``int8_ptq``: full-integer post-training quantization, calibrated on a configured dataset
  (``export.calibration``, default the training split), optionally with named layers kept in float;
- ``int8_qat``: full-integer from the quantization-aware model (ranges from its fake-quant nodes).
The full-integer variants take ``export.io_dtype`` (uint8, int8 or float32) at input and output; every
variant has static shapes [1, h, w, 3] -> [1, h, w, 1]. Each ``.tflite`` carries its manifest both
beside it (JSON) and inside it (metadata ``keras_depth_manifest``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np
import tensorflow as tf

from export.manifest import InputSpec, Manifest, OutputSpec, Quantization, manifest_path, write_manifest
from keras_depth.config import Config
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_bytes, atomic_write_with
from keras_depth.kerasapi import keras
from keras_depth.spec import DepthSpec

VARIANTS = ("saved_model", "float32", "float16", "int8_dynamic", "int8_ptq", "int8_qat")
TFLITE_VARIANTS = VARIANTS[1:]
INTEGER_IO_VARIANTS = ("int8_ptq", "int8_qat")
IO_DTYPES = {"uint8": tf.uint8, "int8": tf.int8, "float32": tf.float32}

# Parity thresholds, as fractions of the output range (hi - lo), against the Keras model the
# variant was converted from, on calibration-set images (docs/export.md explains them):
#  - saved_model and float32 are the same arithmetic in another runtime: float rounding only.
#  - float16 rounds every weight to 11 significant bits (relative error <= 2^-11 per weight).
#  - int8_dynamic quantizes weights per channel and activations per inference (per tensor, on the fly).
#  - int8_qat runs the fake-quant graph for real: it differs by rounding at a few requantizations.
#  - int8_ptq is compared with the float model, so it carries the whole quantization error.
PARITY_TOLERANCE = {
    "saved_model": {"max_abs": 1e-5, "mean_abs": 1e-6},
    "float32": {"max_abs": 1e-4, "mean_abs": 1e-5},
    "float16": {"max_abs": 0.02, "mean_abs": 0.002},
    "int8_dynamic": {"max_abs": 0.25, "mean_abs": 0.03},
    "int8_qat": {"max_abs": 0.10, "mean_abs": 0.01},
    "int8_ptq": {"max_abs": 0.25, "mean_abs": 0.03},
}


def static_converter(model: keras.Model) -> tf.lite.TFLiteConverter:
    """A converter whose graph has a static batch of 1 (``from_keras_model`` leaves the batch dynamic,
    shape_signature -1, which costs a resize on some delegates and breaks "static shapes").

    One input is named ``image``; a model with several (``demon_pair``'s image pair) keeps its Keras
    input names in the signature (feed them by name: the tensor order of the inputs is not the model's)."""
    inputs = model.inputs
    names = ["image"] if len(inputs) == 1 else [t.name.split(":")[0] for t in inputs]
    specs = [tf.TensorSpec([1, *t.shape[1:]], tf.float32, name=n) for t, n in zip(inputs, names)]
    if len(specs) == 1:
        fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(specs[0])
    else:
        fn = tf.function(lambda *xs: model(list(xs), training=False)).get_concrete_function(*specs)
    # The converter saves its trackable object as a SavedModel before converting. Given the Keras model,
    # that save re-traced every layer's call for Keras' SavedModel format, then wrote a checkpoint of every
    # variable (a tfmot QAT model has thousands): ~90% of the conversion time. Freezing the variables into
    # the traced graph first (as the converter's importer does anyway) leaves it nothing to save; the
    # .tflite has the same ops and signature (checked on QAT tiny_unet: identical uint8 outputs; only
    # internal tensor names differ), and a QAT conversion takes seconds instead of a minute.
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(fn)
    # The frozen function returns a flat list: re-pack it so that dict outputs keep their names.
    packed = tf.function(lambda *xs: tf.nest.pack_sequence_as(fn.structured_outputs, tf.nest.flatten(frozen(*xs))))
    return tf.lite.TFLiteConverter.from_concrete_functions([packed.get_concrete_function(*specs)], tf.Module())


def convert_float32(model: keras.Model) -> bytes:
    return static_converter(model).convert()


def convert_float16(model: keras.Model) -> bytes:
    c = static_converter(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.target_spec.supported_types = [tf.float16]
    return c.convert()


def convert_int8_dynamic(model: keras.Model) -> bytes:
    """Dynamic-range: Optimize.DEFAULT without a representative dataset (weights only, float interface)."""
    c = static_converter(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    return c.convert()


def _integer_converter(model: keras.Model, io_dtype: str) -> tf.lite.TFLiteConverter:
    if io_dtype not in IO_DTYPES:
        raise UsageError(f"export.io_dtype: expected one of {sorted(IO_DTYPES)}, got {io_dtype!r}")
    c = static_converter(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.inference_input_type = IO_DTYPES[io_dtype]
    c.inference_output_type = IO_DTYPES[io_dtype]
    return c


def convert_int8_ptq(model: keras.Model, representative: Callable[[], Iterable[np.ndarray]], io_dtype: str = "uint8",
                     float_layers: Sequence[str] = ()) -> bytes:
    """Full-integer PTQ; ``representative()`` yields float32 [1, h, w, 3] batches in [0, 1] (for a
    model with several inputs, a list of such batches in ``model.inputs`` order).

    ``float_layers``: Keras layer names kept in float (selective quantization through
    ``tf.lite.experimental.QuantizationDebugger``'s denylist; export/quant_debug.py).
    """
    if float_layers:
        from export.quant_debug import convert_selective_ptq

        return convert_selective_ptq(model, representative, float_layers, io_dtype)
    c = _integer_converter(model, io_dtype)
    # Integer-only kernels: conversion fails rather than leave a float op behind. (Not for QAT models:
    # TF 2.21 then demands a representative dataset that a QAT graph does not need.)
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.representative_dataset = lambda: (list(x) if isinstance(x, (list, tuple)) else [x] for x in representative())
    return c.convert()


def convert_int8_qat(qat_model: keras.Model, io_dtype: str = "uint8", model: Optional[keras.Model] = None,
                     representative: Optional[Callable[[], Iterable[np.ndarray]]] = None) -> bytes:
    """Integer model from a QAT model: the ranges come from its fake-quant nodes, no calibration.

    A QAT model with ``qat.float_layers`` needs ``model`` (its float graph) and ``representative``: the
    converter cannot keep those layers float from the fake-quant graph, so the QAT weights go through
    selective PTQ (``export.qat.convert_selective_qat``, docs/export.md "Selective quantization")."""
    from export.qat import convert_selective_qat, float_layers_of

    if float_layers_of(qat_model):
        if model is None or representative is None:
            raise UsageError("int8_qat with qat.float_layers needs the float model and calibration images")
        return convert_selective_qat(qat_model, model, representative, io_dtype)
    return _integer_converter(qat_model, io_dtype).convert()


def save_saved_model(model: keras.Model, path: Path, manifest: Manifest) -> None:
    """The SavedModel folder, with its manifest inside (``manifest.json``), moved into place at once."""
    h, w = (int(v) for v in model.input_shape[1:3])

    @tf.function(input_signature=[tf.TensorSpec([1, h, w, 3], tf.float32, name="image")])
    def serve(image):
        return {"depth": model(image, training=False)}

    def write(tmp: Path) -> None:
        tf.saved_model.save(model, str(tmp), signatures={"serving_default": serve})
        (tmp / "manifest.json").write_text(manifest.to_json())

    atomic_write_with(path, write)


def saved_model_predict(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """float [N, h, w, 3] in [0, 1] -> raw output [N, h, w], through the serving signature."""
    fn = tf.saved_model.load(str(path)).signatures["serving_default"]

    def predict(xs: np.ndarray) -> np.ndarray:
        return np.concatenate([fn(image=tf.constant(x[None], tf.float32))["depth"].numpy()[..., 0] for x in xs])

    return predict


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


def check_parity(reference: Callable[[np.ndarray], np.ndarray] | keras.Model, model: Path | bytes, xs: np.ndarray,
                 variant: str, spec: DepthSpec, manifest: Optional[Manifest] = None) -> dict:
    """Max and mean |exported - Keras| on ``xs`` (float [N, h, w, 3] in [0, 1]), absolute and as a
    fraction of the output range, with the verdict against ``PARITY_TOLERANCE``.

    ``model``: a ``.tflite`` (path or bytes; run through the manifest like a phone would) or, for
    ``saved_model``, the SavedModel folder. ``reference``: a Keras model or a function like it."""
    want = reference(xs) if not isinstance(reference, keras.Model) else reference.predict(xs, verbose=0)
    want = np.asarray(want)[..., 0] if np.ndim(want) == 4 else np.asarray(want)
    if variant == "saved_model":
        got = saved_model_predict(Path(model))(xs)
    else:
        from export.runtime import TFLiteDepthEstimator

        est = TFLiteDepthEstimator(model, manifest=manifest, num_threads=2)
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


def calibration_config(config: Config) -> Config:
    """The config whose training split is the calibration set (``export.calibration`` when set)."""
    if not config.export.calibration:
        return config
    data = dataclasses.replace(config.data, train=list(config.export.calibration))
    return dataclasses.replace(config, data=data)


def representative_images(config: Config, count: int) -> np.ndarray:
    """Calibration images (resized to the model's input, not augmented) from ``export.calibration``:
    any configured dataset entries; the training split when unset."""
    from keras_depth.data.pipeline import make_dataset

    ds = make_dataset(calibration_config(config), "train", batch_size=1, training=False, repeat=False).take(count)
    xs = np.concatenate([x.numpy() for x, _ in ds] or [np.zeros((0, 1, 1, 3), np.float32)])
    if len(xs) == 0:
        where = "export.calibration" if config.export.calibration else "data.train"
        raise UsageError(f"export: {where} yielded no calibration image")
    return xs


def calibration_summary(config: Config, count: int) -> dict:
    entries = config.export.calibration or config.data.train
    return {"images": int(count), "datasets": [e.get("type", "?") for e in entries],
            "source": "export.calibration" if config.export.calibration else "data.train"}


@dataclasses.dataclass
class ExportedModel:
    variant: str
    path: Path
    manifest: Manifest
    parity: dict
    seconds: float
    ops: Optional[dict] = None


def convert_variant(variant: str, model: keras.Model, qat_model: Optional[keras.Model], calib: np.ndarray,
                    io_dtype: str = "uint8", float_layers: Sequence[str] = ()) -> tuple[bytes, keras.Model]:
    """(the .tflite bytes, the Keras model it must agree with) for one TFLite variant."""
    if variant == "float32":
        return convert_float32(model), model
    if variant == "float16":
        return convert_float16(model), model
    if variant == "int8_dynamic":
        return convert_int8_dynamic(model), model
    if variant == "int8_ptq":
        return convert_int8_ptq(model, lambda: (c[None] for c in calib), io_dtype, float_layers), model
    if variant == "int8_qat":
        if qat_model is None:
            raise UsageError("export: variant int8_qat needs the QAT model (run `keras-depth qat` first)")
        return convert_int8_qat(qat_model, io_dtype, model, lambda: (c[None] for c in calib)), qat_model
    raise UsageError(f"export.variants: unknown {variant!r} (expected one of {VARIANTS})")


def write_tflite(path: Path, blob: bytes, manifest: Manifest) -> None:
    """The manifest JSON first, then the model with the same manifest embedded: a reader that finds
    the model always finds its manifest (each file is written atomically)."""
    from export.metadata import embed_manifest

    write_manifest(manifest, path)
    atomic_write_bytes(path, embed_manifest(blob, manifest))


def export_variants(config: Config, model: keras.Model, qat_model: Optional[keras.Model], out_dir: Path,
                    variants: Optional[Iterable[str]] = None, log: Callable[[str], None] = print,
                    calib: Optional[np.ndarray] = None, check: bool = True) -> list[ExportedModel]:
    """Convert, parity-check and write (atomically, manifest first) each requested variant.

    ``calib``: calibration images (float [N, h, w, 3] in [0, 1]); default from ``export.calibration``.
    ``check``: raise when a variant is over its parity tolerance.
    """
    from export.op_report import format_op_report, op_report

    variants = list(variants or config.export.variants)
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise UsageError(f"export.variants: unknown {bad} (expected some of {VARIANTS})")
    if "int8_qat" in variants and qat_model is None:
        raise UsageError("export: variant int8_qat needs the QAT model (run `keras-depth qat` first)")
    e = config.export
    spec = DepthSpec.from_dict(config.model.spec)
    if calib is None:
        calib = representative_images(config, e.representative_samples)
    xs = calib[: e.parity_samples]
    out_dir = Path(out_dir)
    results = []
    for v in variants:
        start = time.time()
        if v == "saved_model":
            path = out_dir / "model_saved_model"
            manifest = keras_manifest(model, spec, v, path.name, config.sha256())
            save_saved_model(model, path, manifest)
            parity = check_parity(model, path, xs, v, spec)
            manifest.metrics["parity"] = {k: parity[k] for k in ("max_abs", "mean_abs", "max_frac", "mean_frac", "ok")}
            write_manifest(manifest, path)
            ops, size = None, sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        else:
            blob, ref = convert_variant(v, model, qat_model, calib, e.io_dtype, e.float_layers if v == "int8_ptq" else ())
            path = out_dir / f"model_{v}.tflite"
            manifest = build_manifest(path.name, blob, v, spec, config.sha256())
            parity = check_parity(ref, blob, xs, v, spec, manifest)
            ops = op_report(blob)
            manifest.metrics["parity"] = {k: parity[k] for k in ("max_abs", "mean_abs", "max_frac", "mean_frac", "ok")}
            manifest.metrics["ops"] = {"int8_coverage": ops["int8_coverage"], "gpu_unsupported": ops["gpu_unsupported"],
                                       "histogram": ops["ops"]}
            export_info = {"io_dtype": manifest.input.dtype}
            if v == "int8_ptq":
                export_info["calibration"] = calibration_summary(config, len(calib))
                export_info["float_layers"] = list(e.float_layers)
            if v == "int8_qat":
                export_info["float_layers"] = list(config.qat.float_layers)
            manifest.metrics["export"] = export_info
            write_tflite(path, blob, manifest)
            size = path.stat().st_size
        seconds = time.time() - start
        log(f"  {v:<12} {size / 1024:8.0f} KiB  parity vs Keras: max {parity['max_abs']:.4g} "
            f"mean {parity['mean_abs']:.3g} {spec.units} ({parity['mean_frac'] * 100:.4f}% of range) "
            f"{'ok' if parity['ok'] else 'OVER TOLERANCE ' + json.dumps(parity['tolerance'])}  [{seconds:.0f} s]")
        if ops:
            log("    " + format_op_report(path.name, ops).replace("\n", "\n    "))
        results.append(ExportedModel(v, path, manifest, parity, seconds, ops))
    from keras_depth.io import atomic_write_text

    atomic_write_text(out_dir / "export_report.json", json.dumps(
        {r.variant: {"path": r.path.name, "parity": {k: r.parity[k] for k in ("max_abs", "mean_abs", "max_frac", "mean_frac", "ok")},
                     "tolerance": r.parity["tolerance"], "ops": r.ops, "seconds": r.seconds} for r in results}, indent=2))
    failed = [r.variant for r in results if not r.parity["ok"]]
    if failed and check:
        raise RuntimeError(f"export parity over tolerance for {failed}; see the figures above")
    return results


def keras_manifest(model: keras.Model, spec: DepthSpec, variant: str, model_file: str,
                   config_sha256: Optional[str] = None) -> Manifest:
    """The manifest of a float Keras/SavedModel export (float32 interface, static [1, h, w, 3])."""
    _, h, w, c = model.input_shape
    _, oh, ow, _ = model.output_shape
    return Manifest(
        model_file=model_file, variant=variant,
        input=InputSpec(height=int(h), width=int(w), channels=int(c)),
        output=OutputSpec(height=int(oh), width=int(ow), kind=spec.kind, semantics=spec.semantics,
                          units="m" if spec.semantics == "metric" else "relative", range=list(spec.output_range)),
        training_config_sha256=config_sha256,
    )


def calibration_sweep(config: Config, model: keras.Model, sizes: Sequence[int], data, out_dir: Path,
                      log: Callable[[str], None] = print) -> list[dict]:
    """Full-int8 PTQ at each calibration size: parity vs Keras and metrics on ``data`` (an EvalSet).

    Writes ``calibration_sweep.{json,md}`` in ``out_dir``; the models themselves are not kept."""
    from export.evaluate import evaluate_predictors, protocol
    from export.runtime import TFLiteDepthEstimator
    from keras_depth.io import atomic_write_text

    spec = DepthSpec.from_dict(config.model.spec)
    calib = representative_images(config, max(sizes))
    xs = np.stack([img.astype(np.float32) / 255.0 for img in data.images[: config.export.parity_samples]])
    rows = []
    for n in sizes:
        start = time.time()
        blob = convert_int8_ptq(model, lambda n=n: (c[None] for c in calib[:n]), config.export.io_dtype, config.export.float_layers)
        manifest = build_manifest("sweep.tflite", blob, "int8_ptq", spec)
        parity = check_parity(model, blob, xs, "int8_ptq", spec, manifest)
        est = TFLiteDepthEstimator(blob, manifest=manifest)
        m = evaluate_predictors({f"ptq n={n}": est.predict_depth}, data, config)[f"ptq n={n}"]["metrics"]
        rows.append({"calibration_images": min(n, len(calib)), "parity_max_abs": parity["max_abs"],
                     "parity_mean_abs": parity["mean_abs"], "abs_rel": m["abs_rel"], "rmse": m["rmse"],
                     "delta1": m["delta1"], "seconds": time.time() - start})
        log(f"  calibration {n:>4}: parity mean {parity['mean_abs']:.4f} max {parity['max_abs']:.3f}; "
            f"AbsRel {m['abs_rel']:.4f} delta1 {m['delta1']:.4f}")
    md = [f"# PTQ calibration sweep ({config.name})", "",
          f"Calibration: {calibration_summary(config, len(calib))}. Evaluated on {data.name}; protocol: {protocol(config)}.", "",
          "| calibration images | parity mean abs err (m) | parity max abs err (m) | AbsRel | RMSE | delta1 |", "|---|---|---|---|---|---|"]
    md += [f"| {r['calibration_images']} | {r['parity_mean_abs']:.4f} | {r['parity_max_abs']:.3f} | {r['abs_rel']:.4f} | "
           f"{r['rmse']:.4f} | {r['delta1']:.4f} |" for r in rows]
    atomic_write_text(Path(out_dir) / "calibration_sweep.md", "\n".join(md) + "\n")
    atomic_write_text(Path(out_dir) / "calibration_sweep.json", json.dumps(rows, indent=2))
    return rows


def _csv(text: Optional[str]) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()] if text else []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from keras_depth.cli.common import add_config_arguments

    add_config_arguments(parser)
    parser.add_argument("--model", help="float model (default: OUTPUT_DIR/model.keras)")
    parser.add_argument("--qat-model", help="QAT model (default: OUTPUT_DIR/model_qat.h5)")
    parser.add_argument("--variants", help=f"comma-separated subset of {','.join(VARIANTS)}")
    parser.add_argument("--io-dtype", choices=sorted(IO_DTYPES), help="interface of the full-int8 variants (export.io_dtype)")
    parser.add_argument("--float-layers", help="comma-separated Keras layer names kept in float in int8_ptq (export.float_layers)")
    parser.add_argument("--out", help="where to write (default: OUTPUT_DIR)")
    parser.add_argument("--calibration-sweep", metavar="N,N,...", help="also sweep PTQ over these calibration sizes "
                        "(metrics on the held-out split); writes calibration_sweep.md")
    parser.add_argument("--rank-layers", action="store_true", help="rank layers by int8 quantization error "
                        "(QuantizationDebugger) into quant_debug.{csv,md}")
    parser.add_argument("--no-check", action="store_true", help="write variants over their parity tolerance instead of failing")


def run(args: argparse.Namespace) -> int:
    from export.qat import load_qat_model
    from keras_depth.cli.common import config_from_args as load_config_from_args
    from keras_depth.training.trainer import load_trained_model

    config = load_config_from_args(args)
    e = config.export
    if args.io_dtype:
        e.io_dtype = args.io_dtype
    if args.float_layers:
        e.float_layers = _csv(args.float_layers)
    out = Path(args.out or config.output_dir)
    variants = _csv(args.variants) or list(e.variants)
    src = Path(config.output_dir)
    model = load_trained_model(args.model or src / "model.keras")
    qat_model = load_qat_model(Path(args.qat_model or src / "model_qat.h5")) if "int8_qat" in variants else None
    calib = representative_images(config, e.representative_samples)
    export_variants(config, model, qat_model, out, variants, calib=calib, check=not args.no_check)
    if args.rank_layers:
        from export.quant_debug import rank_layers, write_ranking

        ranking = rank_layers(model, calib)
        path = write_ranking(ranking, out)
        print(f"layer ranking by quantization error: {path}")
    if args.calibration_sweep:
        from export.evaluate import load_eval_set

        sizes = [int(n) for n in _csv(args.calibration_sweep)]
        calibration_sweep(config, model, sizes, load_eval_set(config, "val"), out)
        print(f"calibration sweep: {out / 'calibration_sweep.md'}")
    return 0
