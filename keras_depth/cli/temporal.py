"""``keras-depth temporal [CONFIG] [--tflite PATH ...]``: depth flicker of exported models on a
static-camera video, without and with the demo's temporal stabilisation.

    keras-depth temporal                                   # the quickstart's exported models
    keras-depth temporal --tflite runs/quickstart/model_int8_qat.tflite --frames 50

Models: every ``--tflite``, else ``OUTPUT_DIR/model_*.tflite`` of CONFIG. Writes ``flicker.json`` and
``flicker.md`` into ``--out`` (default ``OUTPUT_DIR/temporal``) and prints the table.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from keras_depth.ar.temporal import DEFAULT_ALPHA, DEFAULT_STATIC_THRESHOLD
from keras_depth.ar.temporal_eval import DEFAULT_TEMPORAL_FRAMES, FlickerOptions, default_temporal_input, flicker_report
from keras_depth.cli.common import add_config_arguments, config_from_args, non_negative
from keras_depth.pretrained import resolve_model

DEFAULT_CONFIG = "quickstart"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, default=DEFAULT_CONFIG)
    parser.add_argument("--tflite", action="append", default=[], metavar="PATH",
                        help="a shipped model's name or a .tflite with its manifest (repeatable; default: "
                        "OUTPUT_DIR/model_*.tflite)")
    parser.add_argument("--input", default=str(default_temporal_input()),
                        help="video file, image folder, or folder holding one video (default: %(default)s)")
    parser.add_argument("--frames", type=non_negative(int, "--frames"), default=DEFAULT_TEMPORAL_FRAMES, metavar="N",
                        help="first N frames (default %(default)s; 0: all)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_STATIC_THRESHOLD,
                        help="a pixel counts as static when its grey level changes by less (default %(default)s)")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="EMA weight of the new frame (default %(default)s)")
    parser.add_argument("--out", metavar="DIR", help="where flicker.json and flicker.md go (default: OUTPUT_DIR/temporal)")


def run(args: argparse.Namespace) -> int:
    options = FlickerOptions(max_frames=args.frames or None, threshold=args.threshold, alpha=args.alpha)
    options.check()
    tflites = [resolve_model(p) for p in args.tflite]
    out = Path(args.out) if args.out else None
    if not tflites or out is None:
        out_dir = Path(config_from_args(args).output_dir)
        tflites = tflites or sorted(out_dir.glob("model_*.tflite"))
        out = out or out_dir / "temporal"
    _, table = flicker_report(tflites, args.input, out, options)
    print(table)
    print(f"temporal report: {out / 'flicker.md'}")
    return 0
