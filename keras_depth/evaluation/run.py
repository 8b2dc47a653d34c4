"""One evaluation run: the models of a run (and any others) on one set, and the report folder; or, on
the real RGB-D frames, the per-source report of ``keras_depth.evaluation.real_frames``. An evaluation
only reads the models it scores: results go to the report, never into a model file or its manifest
(``tests/test_bad_inputs.py`` hashes them before and after)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from keras_depth.config import Config
from keras_depth.evaluation.eval_sets import EvalSet, load_eval_set
from keras_depth.evaluation.predictors import (Predictor, constant_predictor, keras_predictor, load_model, load_predictor,
                                              tflite_predictor)
from keras_depth.evaluation import real_frames as rf
from keras_depth.evaluation.protocol import evaluate_predictors, protocol_label
from keras_depth.evaluation.report import markdown_table, write_report
from keras_depth.evaluation.variant_id import VariantId, unique_labels
from keras_depth.io import atomic_write_text
from keras_depth.kerasapi import keras
from keras_depth.spec import DepthSpec

BASELINE = VariantId("baseline", "constant median")
KERAS_FLOAT = VariantId("keras", "float")


def train_median_depth(config: Config, limit: int = 256) -> float:
    """The constant-depth baseline: the median valid depth of the training split."""
    data = load_eval_set(config, "train", limit)
    return float(np.median(data.depth[data.mask > 0.5]))


def evaluate_run(config: Config, keras_model: Optional[keras.Model] = None, tflite_paths: Sequence[Path] = (),
                 baseline: bool = True, log: Callable[[str], None] = print, data: Optional[EvalSet] = None,
                 out_dir: Optional[Path] = None, models: Sequence[str] = (), title: Optional[str] = None,
                 unsafe: bool = False) -> tuple[Path, dict[VariantId, dict]]:
    """Evaluate the Keras model, the TFLite files of a run and any other ``models`` (references as in
    ``load_predictor``) on ``data`` (default: the held-out split); write the report to ``out_dir``
    (default OUTPUT_DIR/report); ``unsafe``: load Keras files without the check of
    ``keras_depth.models.io``. Returns the report's path and the metrics of each model by ``VariantId``."""
    spec = DepthSpec.from_dict(config.model.spec)
    data = data if data is not None else load_eval_set(config, "val")
    predictors: dict[VariantId, Predictor] = {}
    sizes: dict[VariantId, Optional[float]] = {}

    def add(ref: str) -> None:
        vid, predictors[vid], sizes[vid] = load_predictor(ref, config, unsafe=unsafe)

    if baseline:
        predictors[BASELINE] = constant_predictor(train_median_depth(config))
    if keras_model is not None:
        predictors[KERAS_FLOAT] = keras_predictor(keras_model, spec)
    first = [r for r in models if not r.startswith("peer:") and "=" not in r]
    for ref in first:
        add(ref)
    for p in tflite_paths:
        predict, est = tflite_predictor(Path(p))
        vid = VariantId("tflite", est.manifest.variant, str(p))
        predictors[vid] = predict
        sizes[vid] = Path(p).stat().st_size / 1024
    for ref in [r for r in models if r not in first]:
        add(ref)
    log(f"evaluating {len(predictors)} variants on {data.name}; protocol: {protocol_label(config)}")
    results = evaluate_predictors(predictors, data, config)
    out = Path(out_dir) if out_dir else Path(config.output_dir) / "report"
    report = write_report(out, title or f"{config.name}: float vs int8", data, results, sizes, config)
    print(markdown_table(results, sizes))
    return report, {v: r["metrics"] for v, r in results.items()}



def evaluate_real_frames(config: Config, refs: Sequence[str], out_dir: Path, baseline: bool = True,
                         limit: Optional[int] = None, min_depth: float = 0.1,
                         log: Callable[[str], None] = print, unsafe: bool = False) -> tuple[Path, dict]:
    """Every model of ``refs`` (references as in ``load_model``) on every labelled real frame
    (``real_frames.load_real_frames``; at most ``limit`` per source), each centre-cropped to the
    model's aspect and scored per source at the ground truth's resolution, plus the oracle constant
    unless ``baseline`` is False. Writes ``report.md`` and ``report.json`` to ``out_dir``; model files
    are only read. Returns the report's path and ``real_frames.score_real_frames``'s results."""
    frames = rf.load_real_frames()
    if limit:
        frames = [f for s in rf.SOURCES for f in [f for f in frames if f.source == s][:limit]]
    loaded = [load_model(ref, config, unsafe=unsafe) for ref in refs]
    labels = unique_labels(m.id for m in loaded)
    models = {labels[m.id]: (m.predict, m.input_hw) for m in loaded}
    log(f"evaluating {len(models)} model(s) on {len(frames)} real RGB-D frames, per source, at the ground truth's resolution")
    rows = rf.frame_scores(models, frames, min_depth, constant=baseline)
    results = rf.summarize_frame_scores(rows)
    constant = rf.oracle_constant(frames, min_depth) if baseline else None
    table = rf.format_real_frames_table(results)
    protocol_text = (f"Each model sees the centre crop of the frame with its input's aspect ratio (resized by its own "
                     f"predictor); its prediction is resized (bilinear) back to the crop and scored at the ground "
                     f"truth's resolution, inside the crop only. Valid pixels: {min_depth} m < gt <= cap (10 m indoor, "
                     f"80 m KITTI), prediction > 0; no clipping. Cells: AbsRel / delta1 (< {rf.DELTA1_THRESHOLD}), "
                     f"per-image means; median = per-image median scaling, raw = metric as predicted.")
    md = [f"# {config.name}: real RGB-D frames per source", "", protocol_text, ""]
    if constant is not None:
        md += [f"`{rf.CONSTANT}` is an oracle baseline: raw, the median of all valid ground-truth pixels pooled over "
               f"the frames ({constant:.3f} m); median-aligned, each image's own ground-truth median; whole frame.", ""]
    md += [table, "", "## Frames", "", rf.format_frames_table(frames), "", "Left out:", ""]
    md += [f"- `{name}`: {why}" for name, why in rf.EXCLUDED.items()] + [""]
    out = Path(out_dir)
    atomic_write_text(out / "report.md", "\n".join(md))
    payload = {"data": "real_rgbd", "protocol": {"crop": "centre, model aspect", "resolution": "ground truth",
                                                  "min_depth": min_depth, "max_depth": {s: cap for s, (cap, _) in rf.SOURCES.items()},
                                                  "averaging": "per_image", "alignments": rf.ALIGNMENTS},
               "constant_m": constant, "models": {labels[m.id]: {"id": m.id.to_dict(), "input_hw": list(m.input_hw),
                                                                  "size_kib": m.size_kib} for m in loaded},
               "frames": rf.frames_summary(frames), "excluded": rf.EXCLUDED, "results": results, "per_frame": rows}
    atomic_write_text(out / "report.json", json.dumps(payload, indent=2))
    log(table)
    return out / "report.md", results
