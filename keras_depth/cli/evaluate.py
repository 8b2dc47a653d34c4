"""``keras-depth evaluate CONFIG``: metrics of Keras, SavedModel and TFLite models (ours and peers) on
one evaluation set under one protocol; writes the report folder and nothing else (the models it scores
are only read). ``--data real_rgbd`` is the per-source report on the real RGB-D frames (aspect kept,
scored at the ground truth's resolution)."""
from __future__ import annotations

import argparse
from pathlib import Path

from keras_depth.cli.common import add_config_arguments, add_unsafe_argument, config_from_args, positive
from keras_depth.errors import UsageError
from keras_depth.pretrained import resolve_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--model", action="append", default=[], metavar="PATH",
                        help="a Keras file or SavedModel folder (repeatable; default: OUTPUT_DIR/model.keras if present)")
    parser.add_argument("--tflite", action="append", default=[], metavar="PATH[=MANIFEST]",
                        help="a shipped model's name, or a .tflite with a manifest beside it, embedded, or given "
                        "after '=' (repeatable; default: OUTPUT_DIR/model_*.tflite)")
    parser.add_argument("--peer", action="append", default=[], metavar="NAME",
                        help="a third-party model with a generated manifest (keras_depth.runtime.peers), e.g. fastdepth_224_int8")
    parser.add_argument("--data", default="val", help="evaluation set: val, train, real_rgbd, nyu_fastdepth_sample "
                        "or a key of eval.datasets (default: val). real_rgbd: every labelled real RGB-D frame of "
                        "../shared/data (Redwood, TUM, SUN, NYU, KITTI), centre-cropped to each model's aspect, scored "
                        "per source at the ground truth's resolution, raw and median-aligned")
    parser.add_argument("--limit", type=positive(int, "--limit"), help="evaluate at most this many images (real_rgbd: per source)")
    parser.add_argument("--out", help="report folder (default: OUTPUT_DIR/report, or OUTPUT_DIR/report_DATA)")
    parser.add_argument("--no-baseline", action="store_true", help="leave out the constant-median baseline "
                        "(real_rgbd: the oracle constant)")
    add_unsafe_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    out = Path(config.output_dir)
    models = list(args.model)
    default_model = out / "model.keras"
    if not models and not args.tflite and not args.peer and default_model.exists():
        models = [str(default_model)]
    tflites = [_resolved(t) for t in args.tflite] or (
        [] if (args.model or args.peer) else [str(p) for p in sorted(out.glob("model_*.tflite"))])
    refs = models + tflites + [f"peer:{n}" for n in args.peer]
    if not refs:
        raise UsageError(f"evaluate: nothing to evaluate (no --model/--tflite/--peer and no models in {out})")
    _precheck(models, tflites, args.unsafe)
    report_dir = Path(args.out) if args.out else out / ("report" if args.data == "val" else f"report_{args.data}")
    if args.data == "real_rgbd" and args.data not in config.eval.datasets:
        from keras_depth.evaluation.run import evaluate_real_frames

        report, _ = evaluate_real_frames(config, refs, report_dir, baseline=not args.no_baseline, limit=args.limit,
                                        unsafe=args.unsafe)
        print(f"report: {report}")
        return 0
    from keras_depth.evaluation.eval_sets import eval_set_for
    from keras_depth.evaluation.run import evaluate_run

    data = eval_set_for(config, args.data, args.limit)
    ours = [Path(r) for r in tflites if "=" not in r]
    others = [r for r in refs if not (r in tflites and "=" not in r)]
    report, _ = evaluate_run(config, None, ours, baseline=not args.no_baseline and args.data in ("val", "train"),
                             data=data, out_dir=report_dir, models=others, unsafe=args.unsafe)
    print(f"report: {report}")
    return 0


def _resolved(ref: str) -> str:
    """``--tflite PATH[=MANIFEST]`` with PATH resolved (a shipped model's name -> its file)."""
    path, eq, manifest = ref.partition("=")
    return f"{resolve_model(path)}{eq}{manifest}"


def _precheck(models: list[str], tflites: list[str], unsafe: bool) -> None:
    """Every model file's one-line error (missing, empty, truncated, code-carrying, not a depth model,
    a manifest of another model) before the evaluation's heavy imports."""
    from keras_depth.models.io import precheck_model_file
    from keras_depth.runtime.tflite import TFLiteDepthEstimator

    for ref in models + tflites:
        path, _, manifest = ref.partition("=")
        if Path(path).suffix in (".keras", ".h5"):
            precheck_model_file(path, unsafe)
        elif Path(path).suffix == ".tflite":
            if not Path(path).is_file():
                raise UsageError(f"model not found: {path}")
            from keras_depth.runtime.manifest import read_manifest

            TFLiteDepthEstimator(path, manifest=read_manifest(path, manifest or None), num_threads=1).close()
