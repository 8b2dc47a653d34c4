"""Full-int8 PTQ at several calibration sizes: parity against Keras and metrics on an eval set, to
choose ``export.representative_samples``."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from export.model_manifest import build_manifest
from export.parity import check_parity
from export.ptq import convert_int8_ptq
from keras_depth.config import Config
from keras_depth.data.calibration import calibration_summary, representative_images
from keras_depth.evaluation.eval_sets import EvalSet
from keras_depth.evaluation.protocol import evaluate_predictors, protocol
from keras_depth.evaluation.variant_id import VariantId
from keras_depth.io import atomic_write_text
from keras_depth.kerasapi import keras
from keras_depth.runtime.tflite import TFLiteDepthEstimator
from keras_depth.spec import DepthSpec


def calibration_sweep(config: Config, model: keras.Model, sizes: Sequence[int], data: EvalSet, out_dir: Path,
                      log: Callable[[str], None] = print) -> list[dict]:
    """One row per calibration size: parity vs Keras and metrics on ``data``.

    Writes ``calibration_sweep.{json,md}`` in ``out_dir``; the models themselves are not kept."""
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
        vid = VariantId("tflite", f"int8_ptq n={n}")
        m = evaluate_predictors({vid: est.predict_depth}, data, config)[vid]["metrics"]
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
