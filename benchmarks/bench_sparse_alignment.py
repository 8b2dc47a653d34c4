"""Metric scale from N sparse points on the real RGB-D frames (keras_depth/evaluation/sparse_alignment.py).

    .venv/bin/python -m benchmarks.bench_sparse_alignment                       # quickstart int8 QAT + FastDepth
    .venv/bin/python -m benchmarks.bench_sparse_alignment --model M.tflite --model peer:fastdepth_224_int8

N = 1, 3, 10, 30, 100 valid ground-truth pixels per image (5 % multiplicative noise, 10 % outliers,
10 trials each) align each model's prediction (keras_depth/alignment.py: median-ratio scale for
depth models, RANSAC scale and shift in disparity for affine-disparity models); AbsRel and delta1
on every valid pixel, against the raw prediction and per-image oracle median scaling. Writes its
section of ``docs/export.md`` and ``runs/bench/sparse_alignment.json``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

from benchmarks import REPO, doc_sections

SCRIPT = "benchmarks/bench_sparse_alignment.py"
DEFAULT_MODELS = (str(REPO / "runs" / "quickstart" / "model_int8_qat.tflite"), "peer:fastdepth_224_int8")


def main() -> int:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", help="a .tflite with its manifest, or peer:NAME (repeatable; "
                   "default: runs/quickstart/model_int8_qat.tflite and peer:fastdepth_224_int8)")
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-doc", action="store_true", help="print only; leave docs/export.md alone")
    args = p.parse_args()
    from keras_depth.cli.common import resolve_config_path
    from keras_depth.config import load_config
    from keras_depth.evaluation.predictors import load_model
    from keras_depth.evaluation.real_frames import load_real_frames
    from keras_depth.evaluation.sparse_alignment import SparseProtocol, evaluate_sparse_alignment, format_table, summarize
    from keras_depth.paths import shared_path

    if not shared_path("data", "rgbd").is_dir():
        print(f"error: {shared_path('data', 'rgbd')} not found (set KERAS_DEPTH_SHARED)", file=sys.stderr)
        return 2
    refs = args.model or list(DEFAULT_MODELS)
    missing = [r for r in refs if not r.startswith("peer:") and not Path(r.partition("=")[0]).is_file()]
    if missing:
        print(f"error: {missing[0]}: not found (run `make demo` for the quickstart model)", file=sys.stderr)
        return 2
    config = load_config(resolve_config_path("quickstart"))
    models = {}
    for ref in refs:
        m = load_model(ref, config)
        semantics = _semantics(ref)
        label = ref[5:] if ref.startswith("peer:") else Path(ref.partition("=")[0]).stem
        models[label] = (m.predict, m.input_hw, semantics)
    frames = load_real_frames()
    protocol = SparseProtocol(trials=args.trials, seed=args.seed)
    t0 = time.perf_counter()
    rows = evaluate_sparse_alignment(models, frames, protocol)
    summary = summarize(rows)
    table = format_table(summary, protocol)
    out = REPO / "runs" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "sparse_alignment.json").write_text(json.dumps({"protocol": protocol.__dict__, "models": refs,
                                                           "summary": {m: {str(n): v for n, v in s.items()} for m, s in summary.items()},
                                                           "rows": rows}, indent=1, default=str))
    begin, end = doc_sections.markers(SCRIPT, "table")
    text = "\n".join([
        begin, "### Sparse-point metric alignment on the real RGB-D frames", "",
        f"Written by `{SCRIPT}` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"({time.perf_counter() - t0:.0f} s): all {len(frames)} labelled real frames (Redwood, TUM, SUN, NYU, KITTI), "
        f"each model on the centre crop of its aspect, scored at the ground truth's resolution. N valid ground-truth "
        f"pixels per image stand in for an AR session's points: {protocol.noise:.0%} multiplicative noise, each point "
        f"an outlier (depth off by 1.5-4x) with probability {protocol.outlier_fraction:.0%}, {protocol.trials} trials "
        "per image and N. Depth models get the median-ratio scale refined over its 20 % inliers "
        "(`keras_depth/alignment.py`). Cells: AbsRel / delta1, means per image; `oracle`: per-image median "
        "scaling with every ground-truth pixel.", "", table, "", end])
    print(text)
    if not args.no_doc:
        doc_sections.write_section(REPO / "docs" / "export.md", SCRIPT, "table", text, title="# Export")
    return 0


def _semantics(ref: str) -> str:
    from keras_depth.runtime.manifest import read_manifest
    from keras_depth.runtime.peers import peer_manifest

    if ref.startswith("peer:"):
        return peer_manifest(ref[5:]).output.semantics
    model, _, manifest = ref.partition("=")
    return read_manifest(Path(model), Path(manifest) if manifest else None).output.semantics


if __name__ == "__main__":
    raise SystemExit(main())
