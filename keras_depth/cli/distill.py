"""``keras-depth distill CONFIG``: any teacher depth model + unlabelled real frames -> a phone-sized
int8 student, with a teacher-vs-student report on real RGB-D frames (docs/distill.md).

Teachers and frames come from the config's ``distill:`` block, or from ``--teacher`` and ``--frames``
(repeatable), which replace it. Shipped configs never point at ``../shared``.

``run_distill`` runs the stages of ``keras_depth.distill.pipeline`` here, at the top: its ``export``
stage is ``export.variants``, which no library package may import.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from keras_depth.cli.common import add_config_arguments, add_unsafe_argument, config_from_args, csv_list, positive
from keras_depth.errors import UsageError

if TYPE_CHECKING:
    from keras_depth.config import Config

DEFAULT_CONFIG = "distill"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, default=DEFAULT_CONFIG)
    parser.add_argument("--teacher", action="append", default=[], metavar="PATH|PEER",
                        help="a teacher: .tflite (manifest beside or inside, else give --semantics), .onnx, .keras, "
                        "SavedModel folder, folder of precomputed depth maps, or a peer name (fastdepth_224_int8, "
                        "pydnet_pp_float); repeatable; replaces distill.teachers")
    parser.add_argument("--semantics", choices=("metric", "relative", "affine_disparity"),
                        help="what the --teacher outputs mean (when no manifest says so)")
    parser.add_argument("--frames", action="append", default=[], metavar="PATH",
                        help="unlabelled frames: a video, a folder of frames or photos, an image, or a glob; "
                        "repeatable; replaces distill.sources")
    parser.add_argument("--every", type=positive(int, "--every"), help="with --frames: keep every n-th frame")
    parser.add_argument("--stages", default="label,train,qat,export,evaluate",
                        help="comma-separated stages to run (default: all): label, train, qat, export, evaluate; "
                        "a stage run alone reads what earlier ones wrote in the output folder")
    parser.add_argument("--no-resume", action="store_true", help="train from scratch instead of resuming from backup/")
    add_unsafe_argument(parser)


def run(args: argparse.Namespace) -> int:
    import yaml

    if args.every is not None and (args.every < 1 or not args.frames):
        raise UsageError(f"--every: expected an integer >= 1 together with --frames, got {args.every}")
    teachers = None
    if args.teacher:
        from keras_depth.distill.teachers import teacher_from_path

        teachers = [teacher_from_path(t, args.semantics) for t in args.teacher]
    elif args.semantics:
        raise UsageError("--semantics: only with --teacher")
    if args.frames:
        sources = [{"path": f, **({"every": args.every} if args.every else {})} for f in args.frames]
        text = yaml.safe_dump(sources, default_flow_style=True).strip()
        args.overrides = [*args.overrides, f"distill.sources={text}"]
    config = config_from_args(args)
    if teachers is not None:
        config = dataclasses.replace(config, distill=dataclasses.replace(config.distill, teachers=teachers))
    from keras_depth.distill.pipeline import check_stages
    from keras_depth.training.divergence import TrainingDiverged

    stages = check_stages(csv_list(args.stages))
    try:
        report = run_distill(config, stages, resume=not args.no_resume, unsafe=args.unsafe)
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if "evaluate" in stages:
        print(f"report: {config.output_dir}/distill_report.md (and .json)")
    else:
        print(f"done: stages {', '.join(stages)} in {config.output_dir}; pseudo-labels: {report.get('folders', '')}")
    return 0


def run_distill(config: Config, stages: Optional[Sequence[str]] = None, resume: bool = True,
                log: Callable[[str], None] = print, unsafe: bool = False) -> dict:
    """Run ``stages`` (default: all) of the pipeline (``keras_depth.distill.pipeline``); the report
    dict (also written as distill_report.json/.md). ``unsafe``: load model files without the check of
    ``keras_depth.models.io``."""
    from keras_depth.distill.pipeline import STAGES, check_stages, prepare

    stages = check_stages(STAGES if stages is None else stages)
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
        from export.variants import export_variants
        from keras_depth.models.io import load_qat_model

        model = model or _load_float(out, unsafe)
        if qat_model is None and "int8_qat" in cfg.export.variants:
            qat_model = load_qat_model(_need(out / "model_qat.h5", "qat"), unsafe)
        log("[export] TFLite variants (calibrated on the pseudo-labelled real frames)")
        t = time.time()
        exported = [e.path for e in export_variants(cfg, model, qat_model, out)]
        run.seconds["export"] = time.time() - t
    report: dict = {"seconds": run.seconds}
    if "evaluate" in stages:
        from keras_depth.distill.report import evaluate_distill, write_report

        model = model or _load_float(out, unsafe)
        exported = exported or sorted(out.glob("model_*.tflite"))
        t = time.time()
        report = evaluate_distill(run, model, [Path(p) for p in exported], out, log)
        run.seconds["evaluate"] = time.time() - t
        report["seconds"] = run.seconds
        write_report(report, out)
    return report


def _need(path: Path, stage: str) -> Path:
    if not path.exists():
        raise UsageError(f"{path} not found: run the {stage} stage first (--stages {stage})")
    return path


def _load_float(out: Path, unsafe: bool = False):
    from keras_depth.models.io import load_trained_model

    return load_trained_model(_need(out / "model.keras", "train"), unsafe=unsafe)
