"""``keras-depth quickstart``: the whole pipeline on built-in synthetic rooms, nothing downloaded.

generate data -> train (model.fit) -> QAT fine-tune -> export TFLite (float32, int8 PTQ, int8 QAT)
-> evaluate every variant on held-out scenes -> table + report folder under ``runs/quickstart/``
-> AR demo (a virtual cube occluded by the exported model's depth) under ``runs/quickstart/ar/``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional

from keras_depth.cli.common import add_config_arguments, config_from_args
from keras_depth.evaluation.variant_id import VariantId, find

DEFAULT_CONFIG = "quickstart"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, default=DEFAULT_CONFIG)
    parser.add_argument("--no-resume", action="store_true", help="train from scratch instead of resuming from backup/")


class Steps:
    """Numbered progress lines with elapsed time, so a user sees where the run is."""

    def __init__(self, total: int):
        self.total, self.n, self.start = total, 0, time.time()

    def __call__(self, title: str) -> None:
        self.n += 1
        print(f"\n[{self.n}/{self.total}] {title}  (t = {time.time() - self.start:.0f} s)", flush=True)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)

    from export.variants import export_variants
    from keras_depth.data.pipeline import split_size
    from keras_depth.evaluation.run import evaluate_run
    from keras_depth.training.divergence import TrainingDiverged
    from keras_depth.training.qat import run_qat, save_qat_run
    from keras_depth.training.trainer import train

    out = Path(config.output_dir)
    step = Steps(7)
    step("generating synthetic scenes (cached; rendered once)")
    sizes = {s: split_size(config, s) for s in ("train", "val")}
    print(f"  train {sizes['train']} frames, held-out {sizes['val']} frames")

    step(f"training {config.model.name} with model.fit ({config.train.epochs} epochs)")
    try:
        result = train(config, resume=not args.no_resume)
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    model = result.model
    print(f"  float model: {result.model_path} ({result.seconds:.0f} s)")

    step("quantization-aware fine-tuning (tfmot)")
    t = time.time()
    qat_model, qat_hist = run_qat(config, model)
    print(f"  QAT model: {save_qat_run(qat_model, qat_hist, out)} ({time.time() - t:.0f} s)")

    step("exporting TFLite variants (each checked against its Keras model)")
    tflite_paths = [e.path for e in export_variants(config, model, qat_model, out)]

    step("evaluating every variant on held-out scenes")
    report, metrics = evaluate_run(config, model, tflite_paths)

    step("AR demo: a virtual cube hidden behind real surfaces by the exported model's depth")
    ar_out = ar_demo(config, tflite_paths, out / "ar" / "synthetic.mp4")

    step("verdict")
    checks = verdict(metrics)
    for text, ok in checks:
        print(f"  [{'ok' if ok else 'MISSED'}] {text}")
    print(f"\nreport: {report}  (and report.json, figure.png beside it)")
    if ar_out is not None:
        print(f"AR demo: {ar_out}  (and .json, PNGs beside it)")
    print(f"total {time.time() - step.start:.0f} s")
    return 0


def ar_demo(config, tflite_paths: list, out: Path, count: int = 24) -> Optional[Path]:
    """The lecture's AR application on a synthetic camera path with known depth (``ar.synthetic_eval``):
    a cube fixed in the room, drawn where the int8 QAT model's depth says it is in front (else the last
    exported variant). Writes the 4-panel mp4 (model | true occlusion | both depths), PNGs every 8th
    frame and a .json of the occlusion IoU against the true depth, and prints the IoUs."""
    from keras_depth.ar.synthetic_eval import synthetic_occlusion
    from keras_depth.io import atomic_write_text

    if not tflite_paths:
        print("  skipped: export.variants is empty, so there is no TFLite model to run")
        return None
    from keras_depth.cli.ar_eval import training_aspect_height
    from keras_depth.data.synthetic.sampling import CameraRanges

    model = next((p for p in tflite_paths if Path(p).stem.endswith("int8_qat")), tflite_paths[-1])
    out.parent.mkdir(parents=True, exist_ok=True)
    # The path is filmed with the camera the model was trained for (fov, height, pitch, aspect), so
    # the raw metric depth is scored on the geometry it learnt.
    camera = CameraRanges.of_entries(config.data.train)
    width = 240
    height = training_aspect_height(config, width) if camera is not None else 180
    res = synthetic_occlusion(model, seed=config.seed, count=count, height=height, width=width, out=out, png_every=8,
                              camera=camera)
    atomic_write_text(out.with_suffix(".json"), json.dumps(res, indent=2, sort_keys=True))
    where = "the training camera" if camera is not None else "the generator's random camera (not the training camera)"
    print(f"  {Path(model).name} on {count} frames of a synthetic camera path filmed with {where}; occlusion IoU "
          f"against the true depth: {res['raw']['iou']:.2f} as predicted (raw), {res['anchored']['iou']:.2f} with "
          f"one true point per frame (an AR hit test), {res['baseline_all_visible']['iou']:.2f} with no occlusion")
    return out


def verdict(metrics: dict[VariantId, dict]) -> list[tuple[str, bool]]:
    """The quickstart's two targets, as (text, met) pairs: the float model's AbsRel at most half the
    constant baseline's, and int8 QAT losing at most 1 point of delta1 against float.

    ``metrics``: ``VariantId -> metrics``, as ``evaluate_run`` returns them."""
    base = find(metrics, "baseline")
    flt = find(metrics, "keras")
    checks = [
        (f"float AbsRel {flt['abs_rel']:.3f} <= half the constant baseline's {base['abs_rel']:.3f}",
         flt["abs_rel"] <= 0.5 * base["abs_rel"]),
    ]
    q = find(metrics, "tflite", "int8_qat")
    if q is not None:
        # QAT fine-tunes a copy for a few more steps, so it may end above the float model: only a loss
        # of more than 1 point is a quantization failure.
        checks.append((f"int8 QAT delta1 {q['delta1']:.3f} within 1 point of float {flt['delta1']:.3f} (or above it)",
                       q["delta1"] >= flt["delta1"] - 0.01))
    return checks
