"""``keras-depth distill CONFIG``: any teacher depth model + unlabelled real frames -> a phone-sized
int8 student, with a teacher-vs-student report on real RGB-D frames (docs/distill.md).

Teachers and frames come from the config's ``distill:`` block, or from ``--teacher`` and ``--frames``
(repeatable), which replace it. Shipped configs never point at ``../shared``.
"""
from __future__ import annotations

import argparse
import sys

from keras_depth.cli.common import add_config_arguments, add_unsafe_argument, config_from_args, csv_list, positive

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

    from keras_depth.errors import UsageError

    if args.every is not None and (args.every < 1 or not args.frames):
        raise UsageError(f"--every: expected an integer >= 1 together with --frames, got {args.every}")
    extra = []
    if args.teacher:
        from export.teachers import teacher_from_path

        blocks = [teacher_from_path(t, args.semantics) for t in args.teacher]
        extra.append("distill.teachers=" + yaml.safe_dump(blocks, default_flow_style=True).strip())
    elif args.semantics:
        raise UsageError("--semantics: only with --teacher")
    if args.frames:
        sources = [{"path": f, **({"every": args.every} if args.every else {})} for f in args.frames]
        extra.append("distill.sources=" + yaml.safe_dump(sources, default_flow_style=True).strip())
    args.overrides = list(args.overrides) + extra
    config = config_from_args(args)
    from keras_depth.distill.pipeline import check_stages, run_distill
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
