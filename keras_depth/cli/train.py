"""``keras-depth train CONFIG [--set KEY=VALUE ...] [--no-resume]``: ``model.fit`` from a config."""
from __future__ import annotations

import argparse

from keras_depth.cli.common import add_config_arguments, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--no-resume", action="store_true", help="start over instead of resuming from backup/")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    from keras_depth.training.trainer import train

    result = train(config, resume=not args.no_resume)
    print(f"model: {result.model_path}  ({result.seconds:.0f} s)")
    return 0
