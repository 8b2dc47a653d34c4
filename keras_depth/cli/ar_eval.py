"""``keras-depth ar-eval --model M.tflite [--out X.mp4]``: occlusion accuracy of an exported model on
a synthetic camera path whose true depth is known (``keras_depth.ar.synthetic_eval``).

Prints the scores as JSON; with ``--out``, also writes the 4-panel mp4 (model | true occlusion | both
depths) and the JSON beside it.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from keras_depth.ar.synthetic_eval import synthetic_occlusion
from keras_depth.cli.common import non_negative, positive, resolve_config_path
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_text
from keras_depth.pretrained import resolve_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a shipped model's name (keras-depth models --pretrained) or an "
                        "exported .tflite with its manifest (.json) beside it")
    parser.add_argument("--out", help="an .mp4 to write (4 panels); a .json goes beside it")
    parser.add_argument("--count", type=positive(int, "--count"), default=24, help="frames of the path (default %(default)s)")
    parser.add_argument("--seed", type=non_negative(int, "--seed"), default=0, help="generator seed (default %(default)s)")
    parser.add_argument("--index", type=non_negative(int, "--index"), default=0, help="which trajectory of the seed (default %(default)s)")
    parser.add_argument("--height", type=positive(int, "--height"), default=180, help="frame height (default %(default)s)")
    parser.add_argument("--width", type=positive(int, "--width"), default=240, help="frame width (default %(default)s)")
    parser.add_argument("--config", help="render with this training config's synthetic camera (fov, height, pitch of its "
                        "data.train entry) at the aspect of its data.image_size, so a metric model's raw depth is "
                        "scored on the camera it learnt; --width sets the size")
    parser.add_argument("--png-every", type=non_negative(int, "--png-every"), default=0, metavar="N",
                        help="also save every Nth panel as PNG beside the mp4 (default 0: none)")


def training_aspect_height(config, width: int) -> int:
    """The frame height at ``width`` with the aspect of the config's ``data.image_size`` (even)."""
    h, w = config.data.image_size
    return max(2, int(round(width * h / w / 2)) * 2)


def run(args: argparse.Namespace) -> int:
    model = resolve_model(args.model)
    if not model.is_file():
        raise UsageError(f"--model: {args.model} is not a file")
    out = Path(args.out) if args.out else None
    camera, height = None, args.height
    if args.config:
        from keras_depth.config import load_config
        from keras_depth.data.synthetic.sampling import CameraRanges

        config = load_config(resolve_config_path(args.config))
        camera = CameraRanges.of_entries(config.data.train)
        if camera is None:
            raise UsageError(f"--config: {args.config} has no synthetic data.train entry with a camera (fov_deg, camera_height, pitch_deg)")
        height = training_aspect_height(config, args.width)
    res = synthetic_occlusion(str(model), args.seed, args.count, height, args.width, index=args.index,
                              out=out, png_every=args.png_every, camera=camera)
    text = json.dumps(res, indent=2, sort_keys=True)
    if out is not None:
        atomic_write_text(out.with_suffix(".json"), text)
    print(text)
    return 0
