"""``keras-depth export CONFIG``: TFLite variants (and a SavedModel), each with a manifest and a parity
check against its Keras model; optionally a layer ranking by int8 error and a PTQ calibration sweep."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from export.variant_names import IO_DTYPE_NAMES, VARIANTS
from keras_depth.cli.common import add_config_arguments, add_unsafe_argument, config_from_args, csv_list


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--model", help="float model (default: OUTPUT_DIR/model.keras)")
    parser.add_argument("--qat-model", help="QAT model (default: OUTPUT_DIR/model_qat.h5)")
    parser.add_argument("--variants", help=f"comma-separated subset of {','.join(VARIANTS)}")
    parser.add_argument("--io-dtype", choices=IO_DTYPE_NAMES, help="interface of the full-int8 variants (export.io_dtype)")
    parser.add_argument("--float-layers", help="comma-separated Keras layer names kept in float in int8_ptq (export.float_layers)")
    parser.add_argument("--out", help="where to write (default: OUTPUT_DIR)")
    parser.add_argument("--calibration-sweep", metavar="N,N,...", help="also sweep PTQ over these calibration sizes "
                        "(metrics on the held-out split); writes calibration_sweep.{md,json}")
    parser.add_argument("--rank-layers", action="store_true", help="rank layers by int8 quantization error "
                        "(QuantizationDebugger) into quant_debug.{md,json}")
    parser.add_argument("--no-check", action="store_true", help="write variants over their parity tolerance instead of failing")
    add_unsafe_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    from keras_depth.models.io import load_trained_model, precheck_model_file, require_depth_model

    path = precheck_model_file(args.model or Path(config.output_dir) / "model.keras", args.unsafe)
    from export.variants import export_variants
    from keras_depth.data.calibration import representative_images
    from keras_depth.models.io import load_qat_model

    e = config.export
    if args.io_dtype:
        e = dataclasses.replace(e, io_dtype=args.io_dtype)
    if args.float_layers:
        e = dataclasses.replace(e, float_layers=csv_list(args.float_layers))
    config = dataclasses.replace(config, export=e)
    out = Path(args.out or config.output_dir)
    variants = csv_list(args.variants) or list(e.variants)
    src = Path(config.output_dir)
    model = require_depth_model(load_trained_model(path, unsafe=args.unsafe), path)
    qat_model = load_qat_model(Path(args.qat_model or src / "model_qat.h5"), args.unsafe) if "int8_qat" in variants else None
    calib = representative_images(config, e.representative_samples)
    export_variants(config, model, qat_model, out, variants, calib=calib, check=not args.no_check)
    if args.rank_layers:
        from export.quant_debug import rank_layers, write_ranking

        path = write_ranking(rank_layers(model, calib), out)
        print(f"layer ranking by quantization error: {path}")
    if args.calibration_sweep:
        from export.calibration_sweep import calibration_sweep
        from keras_depth.evaluation.eval_sets import load_eval_set

        sizes = [int(n) for n in csv_list(args.calibration_sweep)]
        calibration_sweep(config, model, sizes, load_eval_set(config, "val"), out)
        print(f"calibration sweep: {out / 'calibration_sweep.md'}")
    return 0
