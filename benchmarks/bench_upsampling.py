"""Nearest vs bilinear upsampling in the decoder: float vs int8 accuracy and int8 latency.

    .venv/bin/python -m benchmarks.bench_upsampling [--epochs 4] [--size 64]   (~5-10 min on 2 shared cores)

The same small model (``unet_mobilenetv2`` preset, only ``upsampling`` differs) is trained briefly on
the synthetic data with the same seed, then QAT fine-tuned and exported to int8 (uint8 IO). Both are
evaluated on held-out synthetic frames: AbsRel and delta1 for the float model and its int8 TFLite, and
the int8 latency (ai-edge-litert, 2 threads, round-robin). The default in ``build_unet`` follows this.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks import doc_sections

SCRIPT = "benchmarks/bench_upsampling.py"  # its section's owner in the markers (export.preset_table keeps it)


def _data(split: str, count: int, size: int, seed: int):
    from keras_depth.data.synthetic.dataset import synthetic_dataset

    s = list(synthetic_dataset(split, count, size, size, seed, "runs/cache").as_numpy_iterator())
    x = np.stack([e["image"] for e in s]).astype(np.float32) / 255.0
    d = np.stack([e["depth"] for e in s]).astype(np.float32)
    return x, d


def _metrics(pred: np.ndarray, gt: np.ndarray) -> dict:
    from keras_depth.metrics.depth_metrics import compute_metrics

    m = compute_metrics(gt, pred)
    return {"abs_rel": m["abs_rel"], "delta1": m["delta1"]}


def main() -> int:
    from keras_depth.runtime.latency import measure_latency
    from export.qat_convert import convert_int8_qat
    from keras_depth.training.qat import make_qat_model
    from keras_depth.runtime.tflite import load_interpreter
    from keras_depth.kerasapi import keras
    from keras_depth.models import build_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--qat-epochs", type=int, default=1)
    ap.add_argument("--train", type=int, default=256)
    ap.add_argument("--val", type=int, default=32)
    ap.add_argument("--out", default="docs/models.md", help="markdown file whose measured section to replace ('' for none)")
    args = ap.parse_args()
    start = time.time()
    xt, dt = _data("train", args.train, args.size, 0)
    xv, dv = _data("val", args.val, args.size, 0)
    results, blobs = {}, {}
    for interp in ("nearest", "bilinear"):
        keras.utils.set_random_seed(0)
        m = build_model("unet_mobilenetv2", (args.size, args.size, 3), upsampling=interp)
        m.compile(keras.optimizers.Adam(2e-3), "mae")
        m.fit(xt, dt, batch_size=16, epochs=args.epochs, verbose=0)
        q = make_qat_model(m)
        q.compile(keras.optimizers.Adam(2e-4), "mae")
        q.fit(xt, dt, batch_size=16, epochs=args.qat_epochs, verbose=0)
        blob = blobs[interp] = convert_int8_qat(q)
        it = load_interpreter(blob, num_threads=2)
        i, o = it.get_input_details()[0], it.get_output_details()[0]
        scale, zp = o["quantization"]
        preds = []
        for x in xv:
            it.set_tensor(i["index"], np.round(x * 255).astype(np.uint8)[None])
            it.invoke()
            preds.append((it.get_tensor(o["index"])[0].astype(np.float32) - zp) * scale)
        results[interp] = {"float": _metrics(m.predict(xv, verbose=0), dv), "qat_keras": _metrics(q.predict(xv, verbose=0), dv),
                           "int8": _metrics(np.stack(preds), dv)}
        keras.backend.clear_session()
    lat = measure_latency(blobs, threads=2, runs=50)
    for k in results:
        results[k]["int8_ms"] = lat[k]["median_ms"]
        results[k]["int8_abs_rel_increase"] = results[k]["int8"]["abs_rel"] - results[k]["float"]["abs_rel"]
        # The QAT fine-tune is extra training too; int8 vs the QAT Keras model isolates the conversion.
        results[k]["int8_vs_qat_abs_rel"] = results[k]["int8"]["abs_rel"] - results[k]["qat_keras"]["abs_rel"]
    print(json.dumps(results, indent=2))
    note = (f"{time.time() - start:.0f} s; {args.train} train / {args.val} val synthetic frames at {args.size}x{args.size}, "
            f"{args.epochs} float + {args.qat_epochs} QAT epochs")
    print(f"({note})")
    if args.out:
        doc_sections.write_section(Path(args.out), SCRIPT, "", render_section(results, note, args.size))
    return 0


def render_section(results: dict, note: str, size: int) -> str:
    import datetime
    import os

    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    begin, end = doc_sections.markers(SCRIPT)
    lines = [begin, "## Upsampling: nearest vs bilinear (measured)", "",
             f"Written by `benchmarks/bench_upsampling.py` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
             f"this machine (2 cores shared with other jobs, load average {load} at the end). {note}. "
             "`unet_mobilenetv2`, only `upsampling` differs; int8 = QAT model converted full-integer (uint8 IO). "
             f"Latency: int8 at {size}x{size}, ai-edge-litert, 2 threads, median of 50 round-robin invocations.", "",
             "| upsampling | float AbsRel | QAT (Keras) AbsRel | int8 AbsRel | int8 - float AbsRel | int8 - QAT AbsRel | float δ1 | int8 δ1 | int8 latency |",
             "|---|---|---|---|---|---|---|---|---|"]
    for k, r in results.items():
        lines.append(f"| {k} | {r['float']['abs_rel']:.4f} | {r['qat_keras']['abs_rel']:.4f} | {r['int8']['abs_rel']:.4f} | "
                     f"{r['int8_abs_rel_increase']:+.4f} | {r['int8_vs_qat_abs_rel']:+.4f} | {r['float']['delta1']:.3f} | {r['int8']['delta1']:.3f} | {r['int8_ms']:.2f} ms |")
    lines += ["", end]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
