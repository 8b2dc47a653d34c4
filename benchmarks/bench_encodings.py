"""Every output encoding x integer export variant of the quickstart model (issue 17).

    .venv/bin/python -m benchmarks.bench_encodings            # 6 epochs per encoding (~20 min on 2 cores)
    .venv/bin/python -m benchmarks.bench_encodings --quick    # 1 short epoch each: a smoke run (~5 min)

For each encoding (model.spec.kind: depth, disparity, log_depth) the quickstart config is trained from
scratch with a shorter schedule (``--epochs``, default 6 of the quickstart's 14; the same data, model,
losses and QAT), fine-tuned with QAT (pinned output range, calibrated activation ranges), and exported
as float32, int8_ptq, int8_qat, int16x8 and int8_float_out. For the depth encoding the QAT of before
issue 17 (tfmot's [-6, 6] initial ranges, unpinned output) is exported beside it (int8_qat_before).

Per variant, on the synthetic held-out split: the depth step of one output level at 0.5, 1, 2 and 5 m
(from the output tensor's quantization and the encoding's derivative, ``export.output_range``), the
levels spent outside the valid range, AbsRel and delta1 (every valid pixel), AbsRel on pixels nearer
than 1.5 m, parity against its Keras model in metres (mean and max |difference|), the median latency
on 2 threads (XNNPACK on, as deployed) and the number of XNNPACK partitions. Writes its section of
``docs/export.md`` and ``runs/bench/encodings/encodings.json``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import REPO, doc_sections

SCRIPT = "benchmarks/bench_encodings.py"
ENCODINGS = ("depth", "disparity", "log_depth")
VARIANTS = ("float32", "int8_ptq", "int8_qat", "int16x8", "int8_float_out")
NEAR_M = 1.5
QUICKSTART = REPO / "keras_depth" / "configs" / "quickstart.yaml"


def val_arrays(config, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Held-out images float [N, h, w, 3] in [0, 1], depth [N, h, w] and valid mask [N, h, w]."""
    from keras_depth.data.pipeline import make_dataset
    from keras_depth.packed_target import unpack_target

    xs, ds, ms = [], [], []
    for x, y in make_dataset(config, "val", batch_size=1, training=False, repeat=False).take(limit):
        d, m, _ = unpack_target(y)
        xs.append(x.numpy()[0])
        ds.append(np.asarray(d)[0, ..., 0] if np.ndim(d) == 4 else np.asarray(d)[0])
        ms.append(np.asarray(m)[0, ..., 0] if np.ndim(m) == 4 else np.asarray(m)[0])
    return np.stack(xs).astype(np.float32), np.stack(ds).astype(np.float32), np.stack(ms) > 0.5


def scores(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, spec) -> dict:
    """AbsRel and delta1 per image (mean over images), and AbsRel over the pixels nearer than NEAR_M."""
    from keras_depth.metrics.depth_metrics import METRIC_NAMES, per_image_metrics

    kw = dict(min_depth=spec.min_depth, max_depth=spec.max_depth)
    vals, ok = per_image_metrics(gt, pred, mask, **kw)
    near_vals, near_ok = per_image_metrics(gt, pred, mask & (gt < NEAR_M), **kw)
    a, d1 = METRIC_NAMES.index("abs_rel"), METRIC_NAMES.index("delta1")
    return {"abs_rel": float(np.mean(vals[ok, a])), "delta1": float(np.mean(vals[ok, d1])),
            "abs_rel_near": float(np.mean(near_vals[near_ok, a])), "near_images": int(near_ok.sum())}


def tflite_depth(path: Path, xs: np.ndarray) -> np.ndarray:
    from keras_depth.runtime.tflite import TFLiteDepthEstimator

    with TFLiteDepthEstimator(path, num_threads=2) as est:
        return np.stack([est.predict_depth(np.round(x * 255).astype(np.uint8)) for x in xs]).astype(np.float32)


def xnnpack_partitions(path: Path) -> int:
    """DELEGATE nodes the XNNPACK delegate adds (0: it took nothing; each is one delegated partition)."""
    from keras_depth.runtime.tflite import load_interpreter

    return sum(op["op_name"] == "DELEGATE" for op in load_interpreter(Path(path), num_threads=2)._get_ops_details())


def depth_of(kind: str, out: float) -> float:
    """The depth an output value decodes to without the clip (inf for a disparity <= 0)."""
    if kind == "depth":
        return out
    if kind == "log_depth":
        return math.exp(out)
    return 1.0 / out if out > 0 else math.inf


def run_encoding(kind: str, args, out_root: Path, log) -> dict:
    from export.output_range import output_quantization
    from export.qat_convert import convert_int8_qat
    from keras_depth.training.qat import run_qat
    from export.variants import export_variants, write_tflite
    from export.model_manifest import build_manifest
    from keras_depth.runtime.latency import measure_latency
    from export.op_report import op_report
    from keras_depth.config import load_config
    from keras_depth.spec import DepthSpec
    from keras_depth.training.trainer import train

    out = out_root / kind
    overrides = [f"model.spec.kind={kind}", f"output_dir={out}", f"train.epochs={args.epochs}", "train.verbose=0", *args.set]
    if args.quick:
        overrides += ["train.steps_per_epoch=40", "train.precise_bn_batches=20", "qat.steps_per_epoch=10",
                      "export.representative_samples=16"]
    config = load_config(QUICKSTART, overrides)
    spec = DepthSpec.from_dict(config.model.spec)
    t0 = time.time()
    model = train(config, resume=False).model
    t_train = time.time() - t0
    qat_model, _ = run_qat(config, model)
    log(f"{kind}: trained {t_train:.0f} s, QAT {time.time() - t0 - t_train:.0f} s")
    exported = export_variants(config, model, qat_model, out, VARIANTS, log=lambda s: None, check=False)
    paths = {e.variant: e.path for e in exported}
    refs = {v: (qat_model if v == "int8_qat" else model) for v in paths}
    if kind == "depth":  # QAT as it was before issue 17: tfmot's initial ranges, the output unpinned
        before_cfg = load_config(QUICKSTART, overrides + ["qat.calibrate_ranges=false"])
        qat_before, _ = run_qat(before_cfg, model, pin_output=False)
        blob = convert_int8_qat(qat_before, config.export.io_dtype)
        path = out / "model_int8_qat_before.tflite"
        write_tflite(path, blob, build_manifest(path.name, blob, "int8_qat", spec))
        paths["int8_qat_before"], refs["int8_qat_before"] = path, qat_before

    xs, gt, mask = val_arrays(config, args.val)
    keras_depth_maps = {}
    rows = {}
    for v, path in paths.items():
        ref = refs[v]
        if id(ref) not in keras_depth_maps:
            raw = ref.predict(np.round(xs * 255) / 255, batch_size=16, verbose=0)[..., 0]
            keras_depth_maps[id(ref)] = np.asarray(spec.output_to_depth(raw), np.float32)
        want = keras_depth_maps[id(ref)]
        got = tflite_depth(path, xs)
        blob = Path(path).read_bytes()
        q = output_quantization(blob, spec)
        ops = op_report(blob)
        row = {"path": str(path), "output": q, **scores(got, gt, mask, spec), "ops": ops["ops"],
               "gpu_unsupported": ops["gpu_unsupported"],
               "parity_mean_m": float(np.mean(np.abs(got - want))), "parity_max_m": float(np.max(np.abs(got - want))),
               "xnnpack_partitions": xnnpack_partitions(path)}
        if "covered" in q:  # the depths of the lowest and highest output level (unclipped)
            row["covered_m"] = [depth_of(kind, c) for c in q["covered"]]
        rows[v] = row
    keras_scores = scores(keras_depth_maps[id(model)], gt, mask, spec)
    lat = measure_latency({v: p for v, p in paths.items()}, threads=2, runs=args.runs)
    for v in rows:
        rows[v]["latency_ms"] = lat[v]["median_ms"]
    log(f"{kind}: done in {time.time() - t0:.0f} s")
    return {"keras": keras_scores, "variants": rows, "train_seconds": t_train}


def _cm(x) -> str:
    return "-" if x is None else (f"{x * 100:.2f}" if x < 0.1 else f"{x * 100:.1f}")


def format_tables(results: dict, args) -> str:
    head = ("| encoding | variant | output | step @0.5 / 1 / 2 / 5 m (cm) | levels outside | AbsRel | AbsRel < 1.5 m "
            "| δ1 | parity mean / max (m) | ms (2 thr) | XNNPACK parts |\n|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for kind, r in results.items():
        k = r["keras"]
        lines.append(f"| {kind} | Keras float | float32 | - | - | {k['abs_rel']:.3f} | {k['abs_rel_near']:.3f} | {k['delta1']:.3f} | - | - | - |")
        for v, row in r["variants"].items():
            q = row["output"]
            steps = " / ".join(_cm(q["depth_step_m"][s]) for s in ("0.5", "1.0", "2.0", "5.0")) if "depth_step_m" in q else "float"
            outside = f"{q['levels_outside']} of {q['levels']}" if "levels" in q else "-"
            dtype = q.get("dtype", "?")
            lines.append(f"| {kind} | {v} | {dtype} | {steps} | {outside} | {row['abs_rel']:.3f} | {row['abs_rel_near']:.3f} "
                         f"| {row['delta1']:.3f} | {row['parity_mean_m']:.3f} / {row['parity_max_m']:.2f} "
                         f"| {row['latency_ms']:.2f} | {row['xnnpack_partitions']} |")
    return "\n".join(lines)


def format_ops(results: dict) -> str:
    """The op histogram of each variant (first encoding), and the ops outside the GPU delegate's list."""
    kind = next(iter(results))
    lines = [f"Ops per variant ({kind} encoding; delegates off), and ops outside the GPU delegate's documented list:", ""]
    for v, row in results[kind]["variants"].items():
        ops = ", ".join(f"{k} {n}" for k, n in row["ops"].items())
        gpu = ", ".join(row["gpu_unsupported"]) or "none"
        lines.append(f"- `{v}`: {ops}; GPU-unsupported: {gpu}")
    return "\n".join(lines)


def choose_default(results: dict) -> tuple[str, str]:
    """The encoding whose best int8 variant (PTQ or QAT) has the lowest AbsRel on near pixels, unless
    it costs more than 5 % AbsRel over all pixels against the depth encoding's."""
    def best(kind):
        vs = results[kind]["variants"]
        return min((vs[v] for v in ("int8_ptq", "int8_qat") if v in vs), key=lambda r: r["abs_rel_near"])
    ref = best("depth") if "depth" in results else None
    ranked = sorted(results, key=lambda k: best(k)["abs_rel_near"])
    for kind in ranked:
        b = best(kind)
        if ref is None or b["abs_rel"] <= 1.05 * ref["abs_rel"]:
            return kind, (f"best int8 AbsRel < {NEAR_M} m {b['abs_rel_near']:.3f}, all pixels {b['abs_rel']:.3f}"
                          + (f" (depth encoding: {ref['abs_rel_near']:.3f}, {ref['abs_rel']:.3f})" if ref else ""))
    return "depth", "no encoding beat linear depth within 5 % overall AbsRel"


def main() -> int:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=6, help="training epochs per encoding (the quickstart trains 14)")
    p.add_argument("--quick", action="store_true", help="1 epoch of 40 steps, 10 QAT steps, 48 held-out frames")
    p.add_argument("--encodings", default=",".join(ENCODINGS))
    p.add_argument("--val", type=int, default=192, help="held-out frames scored")
    p.add_argument("--runs", type=int, default=30, help="timed runs per model")
    p.add_argument("--out", default=str(REPO / "runs" / "bench" / "encodings"))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for every encoding (e.g. data.cache_dir=DIR for an existing scene cache)")
    p.add_argument("--no-doc", action="store_true", help="print only; leave docs/export.md alone")
    args = p.parse_args()
    if args.quick:
        args.epochs, args.val, args.runs = 1, min(args.val, 48), min(args.runs, 10)
    kinds = [k for k in args.encodings.split(",") if k]
    bad = [k for k in kinds if k not in ENCODINGS]
    if bad:
        print(f"error: --encodings: unknown {bad} (expected some of {ENCODINGS})", file=sys.stderr)
        return 2
    out = Path(args.out)
    start = time.time()
    results = {k: run_encoding(k, args, out, print) for k in kinds}
    table = format_tables(results, args)
    default, why = choose_default(results)
    qb = results.get("depth", {}).get("variants", {})
    qat_line = ""
    if "int8_qat_before" in qb:
        b, a, ptq = qb["int8_qat_before"], qb["int8_qat"], qb["int8_ptq"]
        qat_line = (f"QAT vs PTQ (depth encoding): before AbsRel {b['abs_rel']:.3f} δ1 {b['delta1']:.3f}; "
                    f"after {a['abs_rel']:.3f} δ1 {a['delta1']:.3f}; PTQ {ptq['abs_rel']:.3f} δ1 {ptq['delta1']:.3f}. "
                    f"Output before: scale {b['output'].get('scale', 0):.4f}, zero point {b['output'].get('zero_point')}, "
                    f"{b['output'].get('levels_outside')} levels outside the range.")
    minutes = (time.time() - start) / 60
    mode = "--quick (1 epoch of 40 steps per encoding: a smoke run, not a ranking)" if args.quick else f"{args.epochs} epochs per encoding"
    print(table)
    print(qat_line)
    print(format_ops(results))
    print(f"measured default: {default} ({why})")
    out.mkdir(parents=True, exist_ok=True)
    (out / "encodings.json").write_text(json.dumps({"args": vars(args), "results": results, "default": default,
                                                    "why": why, "minutes": minutes}, indent=2))
    if args.no_doc:
        return 0
    begin, end = doc_sections.markers(SCRIPT, "encodings")
    text = "\n".join([
        begin,
        f"Measured {datetime.date.today().isoformat()} by `{SCRIPT}`{' --quick' if args.quick else ''} ({mode}; "
        f"{args.val} held-out synthetic frames; {minutes:.0f} min on this machine's 2 cores). Step: the depth change of one "
        "output level (from the output tensor's scale and the encoding's derivative); levels outside: integer levels "
        "below lo or above hi of the spec's output range; parity: |TFLite - its Keras model| in metres; ms: median "
        "invoke on 2 threads with XNNPACK; XNNPACK parts: delegated partitions (0 = all ops on the builtin kernels).",
        "",
        table,
        "",
        qat_line,
        "",
        format_ops(results),
        "",
        f"Measured default by the rule in `choose_default` (lowest near-pixel AbsRel of the best int8 variant, at most "
        f"5 % worse overall than linear depth): **{default}** ({why}).",
        end,
    ])
    doc_sections.write_section(REPO / "docs" / "export.md", SCRIPT, "encodings", text, title="# Export")
    return 0


if __name__ == "__main__":
    sys.exit(main())
