"""``keras-depth benchmark CONFIG``: latency (median/p90), size and peak memory of the run's TFLite
files, of its variants re-exported at other resolutions (by default each peer's input size, so that
ours and the peers' compare at equal size), and of peer models, in one process."""
from __future__ import annotations

import argparse
from pathlib import Path

from keras_depth.cli.common import add_config_arguments, add_unsafe_argument, config_from_args, csv_list, csv_of, hw_pair, positive
from keras_depth.errors import UsageError
from keras_depth.pretrained import resolve_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--tflite", action="append", default=[], metavar="PATH",
                        help="a shipped model's name or a .tflite to time (repeatable; default: OUTPUT_DIR/model_*.tflite)")
    parser.add_argument("--peer", action="append", default=None, metavar="NAME",
                        help="peer model to run in the same process (repeatable; default: keras_depth.runtime.peers)")
    parser.add_argument("--resolutions", type=csv_of(hw_pair, "--resolutions"), help="comma-separated HxW to re-export the run's model at "
                        "(default: export.benchmark_resolutions, else each peer's input size: equal-size comparison)")
    parser.add_argument("--variants", help="variants to re-export per resolution (default: export.variants)")
    parser.add_argument("--threads", type=csv_of(positive(int, "--threads"), "--threads"), help="comma-separated thread counts (default: export.benchmark_threads)")
    parser.add_argument("--runs", type=positive(int, "--runs"), help="timed invokes per model (default: export.benchmark_runs)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--out", help="folder for benchmark.{md,json} (default: OUTPUT_DIR/benchmark)")
    add_unsafe_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    tflites = [resolve_model(p) for p in args.tflite]  # a wrong name fails before the heavy imports
    e = config.export
    src = Path(config.output_dir)
    out = Path(args.out) if args.out else src / "benchmark"
    threads = args.threads if args.threads else [int(t) for t in e.benchmark_threads]
    if not threads or any(t < 1 for t in threads):
        raise UsageError(f"--threads: expected positive integers, got {threads}")
    runs = args.runs or e.benchmark_runs
    from export.benchmark import (benchmark_models, comparison_sizes, export_at_resolution, input_hw, peers_resized_to,
                                  write_benchmark)
    from keras_depth.runtime.manifest import read_manifest
    from keras_depth.runtime.peers import peer_path

    peers = {f"peer {name}": peer_path(name) for name in (args.peer if args.peer is not None else e.peers)}
    models: dict[str, Path] = {}
    for p in tflites or sorted(src.glob("model_*.tflite")):
        models[f"{read_manifest(p).variant} ({p.parent.name})"] = p
    notes: list[str] = []
    configured = args.resolutions or [tuple(r) for r in e.benchmark_resolutions]
    resolutions = comparison_sizes(configured, [input_hw(p) for p in peers.values()])
    if resolutions and not configured and not (src / "model.keras").is_file():
        notes.append(f"no {src / 'model.keras'} to re-export at the peers' sizes {_sizes(resolutions)}: "
                     "our files run at their own size only")
        resolutions = []
    if resolutions:
        from keras_depth.models.io import load_qat_model, load_trained_model, require_depth_model

        variants = csv_list(args.variants) if args.variants else list(e.variants)
        model = require_depth_model(load_trained_model(src / "model.keras", unsafe=args.unsafe), src / "model.keras")
        qat = load_qat_model(src / "model_qat.h5", args.unsafe) if "int8_qat" in variants else None
        for hw in resolutions:
            d = out / f"model_{hw[0]}x{hw[1]}"
            print(f"exporting {variants} at {hw[0]}x{hw[1]} into {d}")
            for v, p in export_at_resolution(config, model, qat, hw, variants, d).items():
                models[f"{v} ({hw[0]}x{hw[1]})"] = p
    resized = peers_resized_to(peers, [input_hw(p) for p in models.values()], notes)
    models.update(peers)
    models.update({k: p for k, (p, _) in resized.items()})
    if not models:
        raise UsageError(f"benchmark: no model to time (no --tflite, none in {src}, no peers)")
    for n in notes:
        print(f"note: {n}")
    print(f"timing {len(models)} models x threads {threads}, {runs} runs each")
    rows = benchmark_models(models, threads, runs, memory=not args.no_memory, resized={k: hw for k, (_, hw) in resized.items()})
    path = write_benchmark(rows, out, f"{config.name}: latency, size and memory", notes)
    print(f"benchmark: {path}")
    return 0


def _sizes(sizes) -> str:
    return ", ".join(f"{h}x{w}" for h, w in sizes)
