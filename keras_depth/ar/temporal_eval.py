"""Flicker of the demo's depth, with and without temporal stabilisation (``keras-depth temporal``).

Each frame is predicted once; the same prediction goes through the demo's pipeline twice, plain
and with :class:`~keras_depth.ar.temporal.TemporalSmoother`, so the two figures differ only by
the stabilisation. Relative models are aligned as the demo aligns them by default: the image
centre taken to be ``NOMINAL_ANCHOR_DEPTH`` metres away, so flicker is in (nominal) 1/m.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from keras_depth.ar.pipeline import ScenePipeline
from keras_depth.ar.placement import NOMINAL_ANCHOR_DEPTH, MetricPoint
from keras_depth.ar.temporal import DEFAULT_ALPHA, DEFAULT_STATIC_THRESHOLD, FlickerMeter, TemporalSmoother
from keras_depth.ar.video import open_source
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_text
from keras_depth.paths import shared_path
from keras_depth.runtime.tflite import TFLiteDepthEstimator

DEFAULT_TEMPORAL_FRAMES = 200


def default_temporal_input() -> Path:
    """The static-camera clip of the shared data (``keras_depth.paths``)."""
    return shared_path("data", "video", "vtest_static_camera")


@dataclasses.dataclass
class FlickerOptions:
    """How flicker is measured: the first ``max_frames`` frames (None: all), the grey-level change below
    which a pixel counts as static, the stabiliser's EMA weight, interpreter threads."""

    max_frames: Optional[int] = DEFAULT_TEMPORAL_FRAMES
    threshold: float = DEFAULT_STATIC_THRESHOLD
    alpha: float = DEFAULT_ALPHA
    num_threads: int = 2

    def check(self) -> None:
        if self.max_frames is not None and self.max_frames < 1:
            raise UsageError(f"max_frames: expected None (all frames) or N >= 1, got {self.max_frames}")
        if not 0 < self.alpha <= 1:
            raise UsageError(f"--alpha: expected a value in (0, 1], got {self.alpha}")
        if not (self.threshold > 0 and math.isfinite(self.threshold)):
            raise UsageError(f"--threshold: expected a positive number, got {self.threshold}")


def temporal_flicker(model_path: str | os.PathLike, source: str | os.PathLike,
                     options: Optional[FlickerOptions] = None) -> dict:
    """Flicker (see :mod:`keras_depth.ar.temporal`) of one model on a frame source, without and with stabilisation."""
    options = options or FlickerOptions()
    est = TFLiteDepthEstimator(model_path, num_threads=options.num_threads)
    meters = {"without": FlickerMeter(options.threshold), "with": FlickerMeter(options.threshold)}
    pipes = None
    n = 0
    t0 = time.perf_counter()
    with open_source(str(source)) as frames:
        for i, rgb in enumerate(frames):
            if options.max_frames is not None and i >= options.max_frames:
                break
            if pipes is None:
                h, w = rgb.shape[:2]
                anchor = MetricPoint(w // 2, h // 2, NOMINAL_ANCHOR_DEPTH)
                pipes = {"without": ScenePipeline(est, anchor),
                         "with": ScenePipeline(est, anchor, smoother=TemporalSmoother(options.alpha, options.threshold))}
            raw = est.predict_depth(rgb)
            for key, pipe in pipes.items():
                sf = pipe.process_depth(raw, rgb, i)
                meters[key].update(sf.disparity, sf.gray)
            n += 1
    if n < 2:
        raise UsageError(f"--input: {source} gave {n} frames; flicker needs at least 2")
    res = {k: m.result() for k, m in meters.items()}
    without, with_ = res["without"]["flicker"], res["with"]["flicker"]
    return {
        "model": str(model_path), "input": str(source), "frames": n, "semantics": est.manifest.output.semantics,
        "output_size": [est.manifest.output.height, est.manifest.output.width],
        "alpha": options.alpha, "threshold": options.threshold, "without": res["without"], "with": res["with"],
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


def flicker_report(models: Sequence[Path], source: str | os.PathLike, out: Path,
                   options: Optional[FlickerOptions] = None) -> tuple[list[dict], str]:
    """Flicker of each model, written to ``out``/flicker.{json,md}; the results and the markdown table."""
    options = options or FlickerOptions()
    options.check()
    if not models:
        raise UsageError("no models to measure (give --tflite PATH, or a config whose output_dir holds model_*.tflite)")
    for p in models:
        if not Path(p).is_file():
            raise UsageError(f"--tflite: {p} not found")
    open_source(str(source)).close()  # an unreadable video fails here, in one line, before any progress line
    results = []
    for p in models:
        print(f"temporal: {p} on {source}", file=sys.stderr)
        results.append(temporal_flicker(p, source, options))
    table = markdown_table(results)
    atomic_write_text(out / "flicker.json", json.dumps(results, indent=2, sort_keys=True))
    atomic_write_text(out / "flicker.md", "# Depth flicker, without and with stabilisation\n\n"
                      "Mean |delta aligned disparity| between consecutive frames over pixels whose grey level changed by less than "
                      f"{options.threshold} (keras_depth/ar/temporal.py).\n\n{table}\n")
    return results, table
