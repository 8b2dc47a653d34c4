"""``keras-depth distill``: teacher pseudo-labels on unlabelled real frames -> student (model.fit)
-> QAT -> int8 TFLite -> teacher vs student on real RGB-D frames -> report.

Stages (``STAGES``), each usable alone: ``label`` writes the pseudo-label cache; ``train`` the student
(``model.keras``); ``qat`` its QAT model (``model_qat.h5``); ``export`` the TFLite variants with their
manifests; ``evaluate`` the real-frame table and latencies (``distill_report.md``/``.json``). A stage
run alone reads what the earlier ones wrote in the output folder.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Callable, Sequence

from keras_depth.config import Config
from keras_depth.errors import UsageError

STAGES = ("label", "train", "qat", "export", "evaluate")


@dataclasses.dataclass
class DistillRun:
    config: Config  # the student's config (recipe applied, pseudo-label entries in data.train/val)
    teachers: list  # export.teachers.Teacher
    sources: list  # keras_depth.data.unlabeled.FrameSource
    folders: list  # pseudo-label cache folders, one per source
    seconds: dict = dataclasses.field(default_factory=dict)  # stage -> wall seconds


def check_stages(stages: Sequence[str]) -> list[str]:
    bad = [s for s in stages if s not in STAGES]
    if bad or not stages:
        raise UsageError(f"--stages: {bad or 'nothing'}: expected some of {', '.join(STAGES)}")
    return [s for s in STAGES if s in stages]


def prepare(config: Config, log: Callable[[str], None] = print, unsafe: bool = False) -> DistillRun:
    """Load the teachers and check the sources (every one-line error before any heavy work), then
    label the frames (cached: a second run calls no teacher)."""
    from export.teachers import load_teacher
    from keras_depth.data.pseudo_labels import common_semantics, label_source
    from keras_depth.data.unlabeled import parse_sources
    from keras_depth.training.distill_recipe import student_config

    d = config.distill
    if not isinstance(d.teachers, list) or not d.teachers:
        raise UsageError("distill.teachers: expected at least one teacher block {kind, path, semantics} "
                         "(e.g. --set 'distill.teachers=[{kind: peer, path: fastdepth_224_int8}]')")
    if not 0 < d.confidence_threshold:
        raise UsageError(f"distill.confidence_threshold: expected a number > 0, got {d.confidence_threshold}")
    if d.label_short_side < 16 or d.holdout < 2 or d.latency_runs < 1:
        raise UsageError("distill.label_short_side >= 16, distill.holdout >= 2 and distill.latency_runs >= 1 expected, "
                         f"got {d.label_short_side}, {d.holdout}, {d.latency_runs}")
    sources = parse_sources(d.sources)
    teachers = [load_teacher(b, f"distill.teachers[{i}]", unsafe=unsafe) for i, b in enumerate(d.teachers)]
    semantics = common_semantics([t.semantics for t in teachers])
    start = time.time()
    tta = d.flip_tta and not any(t.spec.kind == "precomputed" for t in teachers)
    log(f"  teachers: {', '.join(f'{t.name} ({t.spec.kind}, {t.semantics}, input {t.input_hw[1]}x{t.input_hw[0]})' for t in teachers)}"
        f"; flip TTA {'on' if tta else 'off'}")
    folders = [label_source(teachers, s, Path(config.data.cache_dir), tta=tta, threshold=d.confidence_threshold,
                            short_side=d.label_short_side, strict=config.data.strict, log=log) for s in sources]
    seconds = {"label": time.time() - start}
    aspect = [int(v) for v in config.data.image_size]
    counts = [_frames(f) for f in folders]
    entries = [{"type": "pseudo_labels", "path": str(f), "holdout": d.holdout, "aspect": aspect,
                "weight": s.weight if s.weight is not None else n} for f, s, n in zip(folders, sources, counts)]
    train = [dict(e, split="train") for e in entries] + list(config.data.train)
    # Held-out frames of the sources big enough to spare every holdout-th one.
    val = [{k: v for k, v in e.items() if k != "weight"} | {"split": "val"} for e, n in zip(entries, counts) if n >= d.holdout]
    if not val:
        raise UsageError(f"distill.sources: no source has {d.holdout} frames to hold out every {d.holdout}th for "
                         "validation; add frames or lower distill.holdout")
    return DistillRun(student_config(config, semantics, train, val), teachers, sources, folders, seconds)


def run_distill(config: Config, stages: Sequence[str] = STAGES, resume: bool = True,
                log: Callable[[str], None] = print, unsafe: bool = False) -> dict:
    """Run ``stages`` of the pipeline; the report dict (also written as distill_report.json/.md).
    ``unsafe``: load model files without the check of ``keras_depth.models.io``."""
    stages = check_stages(stages)
    out = Path(config.output_dir)
    log("[label] teacher pseudo-labels on the unlabelled frames")
    run = prepare(config, log, unsafe)
    cfg = run.config
    if stages == ["label"]:
        return {"folders": [str(f) for f in run.folders], "seconds": run.seconds}
    model = qat_model = None
    exported: list = []
    if "train" in stages:
        from keras_depth.training.trainer import train

        log(f"[train] student {cfg.model.name} at {cfg.data.image_size[1]}x{cfg.data.image_size[0]}, "
            f"mode {cfg.train.mode}, losses {[t['name'] for t in cfg.train.losses]}")
        t = time.time()
        model = train(cfg, resume=resume).model
        run.seconds["train"] = time.time() - t
    if "qat" in stages:
        from keras_depth.training.qat import run_qat, save_qat_run

        model = model or _load_float(out, unsafe)
        log("[qat] quantization-aware fine-tuning")
        t = time.time()
        qat_model, hist = run_qat(cfg, model)
        save_qat_run(qat_model, hist, out)
        run.seconds["qat"] = time.time() - t
    if "export" in stages:
        from keras_depth.models.io import load_qat_model
        from export.variants import export_variants

        model = model or _load_float(out, unsafe)
        if qat_model is None and "int8_qat" in cfg.export.variants:
            qat_model = load_qat_model(_need(out / "model_qat.h5", "qat"), unsafe)
        log("[export] TFLite variants (calibrated on the pseudo-labelled real frames)")
        t = time.time()
        exported = [e.path for e in export_variants(cfg, model, qat_model, out)]
        run.seconds["export"] = time.time() - t
    report: dict = {"seconds": run.seconds}
    if "evaluate" in stages:
        from keras_depth.distill.report import evaluate_distill

        model = model or _load_float(out, unsafe)
        exported = exported or sorted(out.glob("model_*.tflite"))
        t = time.time()
        report = evaluate_distill(run, model, [Path(p) for p in exported], out, log)
        run.seconds["evaluate"] = time.time() - t
        report["seconds"] = run.seconds
        from keras_depth.distill.report import write_report

        write_report(report, out)
    return report


def _frames(folder: Path) -> float:
    return float(json.loads((Path(folder) / "meta.json").read_text())["frames"])


def _need(path: Path, stage: str) -> Path:
    if not path.exists():
        raise UsageError(f"{path} not found: run the {stage} stage first (--stages {stage})")
    return path


def _load_float(out: Path, unsafe: bool = False):
    from keras_depth.models.io import load_trained_model

    return load_trained_model(_need(out / "model.keras", "train"), unsafe=unsafe)


def report_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True, default=str)


__all__ = ["DistillRun", "STAGES", "check_stages", "prepare", "report_json", "run_distill"]
