"""``keras-depth train CONFIG [--set KEY=VALUE ...] [--no-resume] [--workers N]``: ``model.fit`` from a
config; ``--workers N`` runs N local workers under MultiWorkerMirroredStrategy."""
from __future__ import annotations

import argparse
import os
import sys

from keras_depth.cli.common import add_config_arguments, config_from_args, positive


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--no-resume", action="store_true", help="start over instead of resuming from backup/")
    parser.add_argument("--workers", type=positive(int, "--workers"), default=1, metavar="N",
                        help="train with N local worker processes on 127.0.0.1 (MultiWorkerMirroredStrategy through "
                        "TF_CONFIG; data.batch_size is the global batch; worker 0 writes the run). Default 1")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)  # a bad config fails here, once, before any worker starts
    if args.workers > 1:
        from keras_depth.errors import UsageError
        from keras_depth.training.workers import TF_CONFIG, launch_local_workers

        if TF_CONFIG in os.environ:
            raise UsageError(f"--workers: {TF_CONFIG} is already set (this process is a worker of a cluster)")
        if config.data.batch_size < args.workers:
            # each worker takes its share of the global batch; an empty share kills the cluster
            raise UsageError(f"--workers {args.workers}: data.batch_size ({config.data.batch_size}) is the global "
                             f"batch and must be at least the number of workers")
        return launch_local_workers(_worker_command(args), args.workers)
    from keras_depth.training.divergence import TrainingDiverged
    from keras_depth.training.trainer import train

    try:
        result = train(config, resume=not args.no_resume)
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"model: {result.model_path}  ({result.seconds:.0f} s)")
    return 0


def _worker_command(args: argparse.Namespace) -> list[str]:
    """This command, for one worker: the same config and overrides, under MultiWorkerMirroredStrategy."""
    cmd = [sys.executable, "-m", "keras_depth.cli", "train", args.config]
    for o in args.overrides:
        cmd += ["--set", o]
    if args.output_dir:
        cmd += ["--output-dir", args.output_dir]
    if args.no_resume:
        cmd.append("--no-resume")
    return cmd + ["--set", "train.distribute=multiworker"]
