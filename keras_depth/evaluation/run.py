"""One evaluation run: the models of a run (and any others) on one set, the report folder, and the
results recorded in each of our models' manifests."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from export.manifest import manifest_path, read_manifest
from export.metadata import embedded_manifest_text
from export.variants import write_tflite
from keras_depth.config import Config
from keras_depth.evaluation.eval_sets import EvalSet, load_eval_set
from keras_depth.evaluation.predictors import Predictor, constant_predictor, keras_predictor, load_predictor, tflite_predictor
from keras_depth.evaluation.protocol import evaluate_predictors, protocol, protocol_label
from keras_depth.evaluation.report import markdown_table, write_report
from keras_depth.evaluation.variant_id import VariantId
from keras_depth.kerasapi import keras
from keras_depth.metrics.depth_metrics import METRIC_NAMES
from keras_depth.spec import DepthSpec

BASELINE = VariantId("baseline", "constant median")
KERAS_FLOAT = VariantId("keras", "float")


def train_median_depth(config: Config, limit: int = 256) -> float:
    """The constant-depth baseline: the median valid depth of the training split."""
    data = load_eval_set(config, "train", limit)
    return float(np.median(data.depth[data.mask > 0.5]))


def record_eval_in_manifest(path: Path, summary: dict) -> bool:
    """Store ``summary`` as ``metrics.eval`` in the manifest beside ``path`` and in the copy embedded
    in it. Skips (False) symlinks and files without a JSON manifest (third-party models)."""
    path = Path(path)
    if path.is_symlink() or path.suffix != ".tflite" or not manifest_path(path).is_file():
        return False
    blob = path.read_bytes()
    if embedded_manifest_text(blob) is None:
        return False
    m = read_manifest(path)
    m.metrics["eval"] = summary
    write_tflite(path, blob, m)
    return True


def evaluate_run(config: Config, keras_model: Optional[keras.Model] = None, tflite_paths: Sequence[Path] = (),
                 baseline: bool = True, log: Callable[[str], None] = print, data: Optional[EvalSet] = None,
                 out_dir: Optional[Path] = None, models: Sequence[str] = (), record: bool = True,
                 title: Optional[str] = None) -> tuple[Path, dict[VariantId, dict]]:
    """Evaluate the Keras model, the TFLite files of a run and any other ``models`` (references as in
    ``load_predictor``) on ``data`` (default: the held-out split); write the report to ``out_dir``
    (default OUTPUT_DIR/report). With ``record``, each of our ``.tflite`` gets ``metrics.eval`` in its
    manifest. Returns the report's path and the metrics of each model by ``VariantId``."""
    spec = DepthSpec.from_dict(config.model.spec)
    data = data if data is not None else load_eval_set(config, "val")
    predictors: dict[VariantId, Predictor] = {}
    sizes: dict[VariantId, Optional[float]] = {}

    def add(ref: str) -> None:
        vid, predictors[vid], sizes[vid] = load_predictor(ref, config)

    if baseline:
        predictors[BASELINE] = constant_predictor(train_median_depth(config))
    if keras_model is not None:
        predictors[KERAS_FLOAT] = keras_predictor(keras_model, spec)
    first = [r for r in models if not r.startswith("peer:") and "=" not in r]
    for ref in first:
        add(ref)
    ours = []
    for p in tflite_paths:
        predict, est = tflite_predictor(Path(p))
        vid = VariantId("tflite", est.manifest.variant, str(p))
        predictors[vid] = predict
        sizes[vid] = Path(p).stat().st_size / 1024
        ours.append(vid)
    for ref in [r for r in models if r not in first]:
        add(ref)
    log(f"evaluating {len(predictors)} variants on {data.name}; protocol: {protocol_label(config)}")
    results = evaluate_predictors(predictors, data, config)
    out = Path(out_dir) if out_dir else Path(config.output_dir) / "report"
    report = write_report(out, title or f"{config.name}: float vs int8", data, results, sizes, config)
    print(markdown_table(results, sizes))
    if record:
        for vid in ours:
            m = results[vid]["metrics"]
            record_eval_in_manifest(Path(vid.path), {"data": data.name, "protocol": protocol(config),
                                                     **{k: float(m[k]) for k in METRIC_NAMES}})
    return report, {v: r["metrics"] for v, r in results.items()}

