"""``keras-depth qat CONFIG [--model PATH]``: quantization-aware fine-tuning of a trained float model;
writes ``model_qat.h5`` and ``history_qat.json`` beside it."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from keras_depth.cli.common import add_config_arguments, add_unsafe_argument, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--model", help="trained float model (default: OUTPUT_DIR/model.keras)")
    add_unsafe_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    from keras_depth.models.io import load_trained_model, precheck_model_file, require_depth_model

    path = precheck_model_file(args.model or Path(config.output_dir) / "model.keras", args.unsafe)
    from keras_depth.training.qat import run_qat, save_qat_run

    out = Path(config.output_dir)
    model = require_depth_model(load_trained_model(path, unsafe=args.unsafe), path)
    start = time.time()
    qat_model, history = run_qat(config, model)
    path = save_qat_run(qat_model, history, out)
    print(f"QAT model: {path}  ({time.time() - start:.0f} s)")
    return 0
