"""``keras-depth``: the console command, and the only package that parses arguments or wires the
layers together (docs/architecture.md). Each subcommand is one module here with
``add_arguments(parser)`` and ``run(args) -> int``, imported only when chosen, so
``keras-depth --help`` and usage errors answer without loading TensorFlow.

Exit codes (``keras_depth.cli.failure``): 0 success; 2 bad usage or input, or an output that cannot be
written (one line on stderr naming the flag, key or file); 1 internal failure (one line and the path
of a log file holding the traceback; ``--debug`` prints it instead); 130 interrupted.
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import Optional, Sequence

from keras_depth.cli.common import OneLineParser, skipped_summary
from keras_depth.cli.failure import run_guarded
from keras_depth.errors import UsageError

# name -> (module with add_arguments(parser) and run(args) -> int, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "quickstart": ("keras_depth.cli.quickstart", "synthetic data -> train -> QAT -> TFLite -> float-vs-int8 table"),
    "train": ("keras_depth.cli.train", "train a model from a config with model.fit"),
    "distill": ("keras_depth.cli.distill", "teacher pseudo-labels on unlabelled real frames -> int8 student -> teacher-vs-student report"),
    "qat": ("keras_depth.cli.qat", "quantization-aware fine-tuning of a trained model"),
    "export": ("keras_depth.cli.export", "export TFLite variants, each with a manifest and a parity check"),
    "evaluate": ("keras_depth.cli.evaluate", "metrics of Keras and TFLite variants on a dataset; report folder"),
    "data": ("keras_depth.cli.data", "data tools: pack datasets into sharded TFRecords"),
    "predict": ("keras_depth.cli.predict", "depth maps of your images, folders, videos or camera: PNG, 16-bit PNG, npy, PFM, ply"),
    "demo": ("keras_depth.cli.demo", "AR demo: a virtual object occluded by predicted depth -> side-by-side mp4"),
    "temporal": ("keras_depth.cli.temporal", "depth flicker of TFLite models on a video, with and without stabilisation"),
    "ar-eval": ("keras_depth.cli.ar_eval", "AR occlusion accuracy of a TFLite model on a synthetic path with true depth"),
    "benchmark": ("keras_depth.cli.benchmark", "latency (median/p90), size and peak memory of variants and peers, at equal input size"),
    "models": ("keras_depth.cli.models", "preset table: params, MACs, TFLite sizes, int8 latency vs the FastDepth peer"),
    "fixtures": ("keras_depth.cli.fixtures", "golden fixtures of the Android depth-core tests from a model (or --tiny)"),
}


def _print_commands() -> None:
    print("usage: keras-depth COMMAND [options]   (keras-depth COMMAND --help for its options)\n")
    print("commands:")
    for name, (_, helptext) in COMMANDS.items():
        print(f"  {name:<12} {helptext}")
    print()
    for flag, helptext in GLOBAL_FLAGS.items():
        print(f"global flag {flag} (anywhere on the line): {helptext}")


GLOBAL_FLAGS = {"--debug": "print the traceback of a failure (otherwise one error line; internal failures leave it in a log file)"}


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug may stand anywhere before a '--' (no subcommand has a flag of that name).
    end = argv.index("--") if "--" in argv else len(argv)
    debug = "--debug" in argv[:end]
    if debug:
        argv = [a for i, a in enumerate(argv) if not (a == "--debug" and i < end)]
    else:
        # Native libraries' notes (TensorFlow's C++ logging, FFmpeg's demuxer complaints about a file we
        # then refuse in one line) would bury the one error line.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    return run_guarded(lambda: _dispatch(argv), argv, debug)


def build_parser(name: str, module=None, **kwargs) -> OneLineParser:
    """The argument parser of subcommand ``name`` (``module``: its already imported module;
    ``kwargs`` go to the parser, e.g. a ``formatter_class``). Used to dispatch, and by
    tools/cli_doc.py to write docs/cli.md."""
    module = module or importlib.import_module(COMMANDS[name][0])
    parser = OneLineParser(prog=f"keras-depth {name}", description=COMMANDS[name][1], **kwargs)
    module.add_arguments(parser)
    return parser


def _dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        _print_commands()
        return 0
    if argv[0] == "--version":
        from keras_depth import __version__

        print(f"keras-depth {__version__}")
        return 0
    name = argv[0]
    if name not in COMMANDS:
        raise UsageError(f"keras-depth: unknown command {name!r} (expected one of: {', '.join(COMMANDS)})")
    module = importlib.import_module(COMMANDS[name][0])
    args = build_parser(name, module).parse_args(argv[1:])
    code = int(module.run(args) or 0)
    summary = skipped_summary()
    if summary:
        print(summary, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
