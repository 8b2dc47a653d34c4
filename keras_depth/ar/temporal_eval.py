"""Flicker of the demo's depth, with and without temporal stabilisation (``evaluate --temporal``).

Each frame is predicted once; the same prediction goes through the demo's pipeline twice, plain
and with :class:`~keras_depth.ar.temporal.TemporalSmoother`, so the two figures differ only by
the stabilisation. Relative models are aligned as the demo aligns them by default: the image
centre taken to be ``NOMINAL_ANCHOR_DEPTH`` metres away, so flicker is in (nominal) 1/m.

    python -m keras_depth.ar.temporal_eval --tflite runs/quickstart/model_int8_qat.tflite
    keras-depth evaluate CONFIG --temporal [--tflite M ...]     # once wired into export/evaluate.py
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from keras_depth.ar.temporal import DEFAULT_ALPHA, DEFAULT_STATIC_THRESHOLD
from keras_depth.errors import UsageError

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("KERAS_DEPTH_SHARED", REPO.parent / "shared"))
DEFAULT_TEMPORAL_INPUT = SHARED / "data" / "video" / "vtest_static_camera"
DEFAULT_TEMPORAL_FRAMES = 200


def temporal_flicker(model_path: str | os.PathLike, source: str, max_frames: Optional[int] = DEFAULT_TEMPORAL_FRAMES,
                     threshold: float = DEFAULT_STATIC_THRESHOLD, alpha: float = DEFAULT_ALPHA,
                     num_threads: int = 2) -> dict:
    """Flicker (see :mod:`keras_depth.ar.temporal`) of one model on a frame source, without and with stabilisation."""
    from export.runtime import TFLiteDepthEstimator
    from keras_depth.ar.pipeline import ScenePipeline
    from keras_depth.ar.placement import NOMINAL_ANCHOR_DEPTH, MetricPoint
    from keras_depth.ar.temporal import FlickerMeter, TemporalSmoother
    from keras_depth.ar.video import open_source

    est = TFLiteDepthEstimator(model_path, num_threads=num_threads)
    meters = {"without": FlickerMeter(threshold), "with": FlickerMeter(threshold)}
    pipes = None
    n = 0
    t0 = time.perf_counter()
    with open_source(str(source), flag="--temporal-input") as frames:
        for i, rgb in enumerate(frames):
            if max_frames is not None and i >= max_frames:
                break
            if pipes is None:
                h, w = rgb.shape[:2]
                anchor = MetricPoint(w // 2, h // 2, NOMINAL_ANCHOR_DEPTH)
                pipes = {"without": ScenePipeline(est, anchor), "with": ScenePipeline(est, anchor, smoother=TemporalSmoother(alpha, threshold))}
            raw = est.predict_depth(rgb)
            for key, pipe in pipes.items():
                sf = pipe.process_depth(raw, rgb, i)
                meters[key].update(sf.disparity, sf.gray)
            n += 1
    if n < 2:
        raise UsageError(f"--temporal-input: {source} gave {n} frames; flicker needs at least 2")
    res = {k: m.result() for k, m in meters.items()}
    without, with_ = res["without"]["flicker"], res["with"]["flicker"]
    return {
        "model": str(model_path), "input": str(source), "frames": n, "semantics": est.manifest.output.semantics,
        "output_size": [est.manifest.output.height, est.manifest.output.width],
        "alpha": alpha, "threshold": threshold, "without": res["without"], "with": res["with"],
        "reduction": 1.0 - with_ / without if without > 0 else float("nan"),
        "seconds": time.perf_counter() - t0,
    }


def markdown_table(results: Sequence[dict]) -> str:
    rows = ["| model | frames | flicker (1/m) | stabilised | reduction | rel. flicker | stabilised | static pixel-steps |",
            "|---|---|---|---|---|---|---|---|"]
    for r in results:
        a, b = r["without"], r["with"]
        rows.append(f"| {Path(r['model']).name} ({r['semantics']}) | {r['frames']} | {a['flicker']:.4g} | {b['flicker']:.4g} "
                    f"| {100 * r['reduction']:.1f}% | {a['flicker_rel']:.4g} | {b['flicker_rel']:.4g} | {100 * a['static_fraction']:.1f}% |")
    return "\n".join(rows)


def add_temporal_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--temporal`` flag and its options (export/evaluate.py's ``add_arguments`` calls this)."""
    g = parser.add_argument_group("temporal stability (--temporal)")
    g.add_argument("--temporal", action="store_true",
                   help="measure depth flicker on a static-camera video, with and without stabilisation, instead of the metrics")
    g.add_argument("--temporal-input", default=str(DEFAULT_TEMPORAL_INPUT),
                   help="video file, image folder, or folder holding one video (default: %(default)s)")
    g.add_argument("--temporal-frames", type=int, default=DEFAULT_TEMPORAL_FRAMES, metavar="N",
                   help="first N frames (default %(default)s; 0: all)")
    g.add_argument("--temporal-threshold", type=float, default=DEFAULT_STATIC_THRESHOLD,
                   help="a pixel counts as static when its grey level changes by less (default %(default)s)")
    g.add_argument("--temporal-alpha", type=float, default=DEFAULT_ALPHA, help="EMA weight of the new frame (default %(default)s)")
    g.add_argument("--temporal-out", metavar="DIR", help="where flicker.json and flicker.md go (default: OUTPUT_DIR/temporal)")


def _models_and_out(args: argparse.Namespace) -> tuple[list[Path], Path]:
    tflites = [Path(p) for p in (getattr(args, "tflite", None) or [])]
    out = Path(args.temporal_out) if getattr(args, "temporal_out", None) else None
    if not tflites or out is None:
        if getattr(args, "config", None):
            from keras_depth.cli.common import config_from_args as load_config_from_args

            out_dir = Path(load_config_from_args(args).output_dir)
            tflites = tflites or sorted(out_dir.glob("model_*.tflite"))
            out = out or out_dir / "temporal"
        out = out or Path("runs") / "temporal"
    if not tflites:
        raise UsageError("--temporal: no models (give --tflite PATH, or a config whose output_dir holds model_*.tflite)")
    for p in tflites:
        if not p.is_file():
            raise UsageError(f"--tflite: {p} not found")
    return tflites, out


def run_temporal(args: argparse.Namespace) -> int:
    """``evaluate --temporal``: flicker of each model, printed as a table and written to DIR/flicker.{json,md}."""
    from keras_depth.io import atomic_write_text

    if args.temporal_frames < 0:
        raise UsageError(f"--temporal-frames: expected N >= 0, got {args.temporal_frames}")
    if not 0 < args.temporal_alpha <= 1:
        raise UsageError(f"--temporal-alpha: expected a value in (0, 1], got {args.temporal_alpha}")
    if not (args.temporal_threshold > 0 and math.isfinite(args.temporal_threshold)):
        raise UsageError(f"--temporal-threshold: expected a positive number, got {args.temporal_threshold}")
    tflites, out = _models_and_out(args)
    results = []
    for p in tflites:
        print(f"temporal: {p} on {args.temporal_input}", file=sys.stderr)
        results.append(temporal_flicker(p, args.temporal_input, args.temporal_frames or None,
                                        args.temporal_threshold, args.temporal_alpha))
    table = markdown_table(results)
    atomic_write_text(out / "flicker.json", json.dumps(results, indent=2, sort_keys=True))
    atomic_write_text(out / "flicker.md", "# Depth flicker, without and with stabilisation\n\n"
                      "Mean |delta aligned disparity| between consecutive frames over pixels whose grey level changed by less than "
                      f"{args.temporal_threshold} (keras_depth/ar/temporal.py).\n\n{table}\n")
    print(table)
    print(f"temporal report: {out / 'flicker.md'}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Standalone: ``python -m keras_depth.ar.temporal_eval --tflite M [--temporal-input ...]``."""
    from keras_depth.cli import OneLineParser

    parser = OneLineParser(prog="python -m keras_depth.ar.temporal_eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tflite", action="append", default=[], metavar="PATH", help="a .tflite with its manifest (repeatable)")
    add_temporal_arguments(parser)
    try:
        return run_temporal(parser.parse_args(argv))
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
