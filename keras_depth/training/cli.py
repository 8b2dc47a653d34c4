"""``keras-depth train CONFIG [--set KEY=VALUE ...]``."""
from __future__ import annotations

import argparse


def add_config_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("config", nargs=None if required else "?", help="YAML config file (see configs/)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set train.epochs=3 (repeatable)")
    parser.add_argument("--output-dir", help="where to write (default: the config's output_dir)")


def load_config_from_args(args: argparse.Namespace):
    from keras_depth.config import load_config

    overrides = list(args.overrides)
    if getattr(args, "output_dir", None):
        overrides.append(f"output_dir={args.output_dir}")
    return load_config(args.config, overrides)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--no-resume", action="store_true", help="start over instead of resuming from backup/")


def run(args: argparse.Namespace) -> int:
    config = load_config_from_args(args)
    from keras_depth.training.trainer import train

    result = train(config, resume=not args.no_resume)
    print(f"model: {result.model_path}  ({result.seconds:.0f} s)")
    return 0
