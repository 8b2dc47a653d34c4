"""``keras-depth demo``: a virtual object in the camera image, hidden behind real surfaces.

    keras-depth demo --model runs/quickstart/model_int8_qat.tflite \\
        --input ../shared/data/video/bedroom_frames --out runs/ar_demo/bedroom.mp4 --png-every 40

The options go to ``keras_depth.ar.demo.run_demo`` as a ``DemoOptions`` (what it writes: that module's
docstring). Nothing here loads TensorFlow: the demo runs the exported model with ai-edge-litert.
"""
from __future__ import annotations

import argparse

from keras_depth.ar.demo import DEFAULT_MAX_WIDTH, DEFAULT_SIZE_FRACTION, DEFAULT_YAW_DEG, DemoOptions, run_demo
from keras_depth.ar.temporal import DEFAULT_ALPHA
from keras_depth.cli.common import non_negative, positive
from keras_depth.pretrained import resolve_model


def _numbers(kind: type, n: int, name: str):
    """An argparse ``type=`` for ``n`` comma-separated numbers of ``kind`` (``X,Y``)."""

    def parse(text: str):
        parts = text.replace(" ", "").split(",")
        try:
            vals = [kind(p) for p in parts]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {n} comma-separated {kind.__name__}s for {name}, got {text!r}") from None
        if len(vals) != n:
            raise argparse.ArgumentTypeError(f"expected {n} comma-separated values for {name}, got {text!r}")
        return tuple(vals)

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a shipped model's name (keras-depth models --pretrained) or an "
                        "exported .tflite with its manifest (.json) beside it")
    parser.add_argument("--input", required=True, help="a video file, a folder of images, or a camera index (0, 1, ...)")
    parser.add_argument("--out", required=True, help="the side-by-side .mp4 to write (atomically)")
    parser.add_argument("--object", default="cube", help="'cube' (shaded) or PATH.obj (textured via its .mtl map_Kd)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--anchor-pixel", type=_numbers(int, 2, "--anchor-pixel"), metavar="X,Y",
                       help="put the object at the scene depth at this pixel of the input frames (picked on the first frame)")
    where.add_argument("--distance", type=positive(float, "--distance"), metavar="METERS",
                       help="put the object this far away on the ray through the image centre; "
                            "relative models are aligned each frame so that pixel is that far")
    parser.add_argument("--pick", action="store_true", help="click the anchor pixel on the first frame (needs a display)")
    parser.add_argument("--size", type=positive(float, "--size"), metavar="METERS",
                        help=f"object edge (default {DEFAULT_SIZE_FRACTION} x its distance)")
    parser.add_argument("--yaw", type=float, default=DEFAULT_YAW_DEG, help="object yaw in degrees (default %(default)s)")
    parser.add_argument("--spin", type=float, default=0.0, help="added yaw per frame in degrees (default 0)")
    parser.add_argument("--hfov", type=positive(float, "--hfov"), default=None,
                        help="horizontal field of view of the input frames, degrees (default 65, as depth-core)")
    parser.add_argument("--intrinsics", type=_numbers(float, 4, "--intrinsics"), metavar="FX,FY,CX,CY",
                        help="camera intrinsics of the input frames in pixels (pixel centres at integers)")
    parser.add_argument("--sparse-points", metavar="FILE", help="metric points to align to: lines 'x y depth' or 'frame x y depth'")
    parser.add_argument("--sparse-from-gt", type=positive(int, "--sparse-from-gt"), metavar="N",
                        help="align to N valid pixels per frame of --gt-depth (an RGB-D recording standing in for AR points)")
    parser.add_argument("--gt-depth", metavar="PATH", help="a depth map, or a folder of them (one per input frame), for --sparse-from-gt")
    parser.add_argument("--depth-scale", type=positive(float, "--depth-scale"), metavar="S",
                        help="--gt-depth value / S = metres (default: the format's, e.g. 1000 for 16-bit PNG)")
    parser.add_argument("--stabilize", action="store_true", help="EMA of the alignment and of disparity in static regions")
    parser.add_argument("--alpha", type=positive(float, "--alpha"), default=None, help=f"EMA weight of the new frame (default {DEFAULT_ALPHA})")
    parser.add_argument("--max-frames", type=positive(int, "--max-frames"), metavar="N", help="stop after N frames")
    parser.add_argument("--png-every", type=non_negative(int, "--png-every"), default=0, metavar="N", help="also save every Nth output frame as PNG beside the mp4")
    parser.add_argument("--max-width", type=positive(int, "--max-width"), default=DEFAULT_MAX_WIDTH,
                        help="frames wider than this are scaled down first (default %(default)s)")
    parser.add_argument("--threads", type=positive(int, "--threads"), default=2, help="interpreter threads (default 2)")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")


def run(args: argparse.Namespace) -> int:
    args.model = str(resolve_model(args.model))
    run_demo(DemoOptions(**vars(args)))
    return 0
