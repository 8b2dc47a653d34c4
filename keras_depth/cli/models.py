"""``keras-depth models``: the preset table (params, MACs, TFLite sizes, int8 latency against the
FastDepth peer), generated from the code into docs/models.md (``export.preset_table``)."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from keras_depth.cli.common import positive
from keras_depth.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=positive(int, "--size"), default=256, help="input size for parameter and MAC counts (default 256)")
    parser.add_argument("--latency-size", type=positive(int, "--latency-size"), default=224, help="input size of the converted models (default 224)")
    parser.add_argument("--threads", type=positive(int, "--threads"), default=2, help="interpreter threads for latency (default 2)")
    parser.add_argument("--runs", type=positive(int, "--runs"), default=30, help="timed invocations per model (default 30)")
    parser.add_argument("--presets", help="comma-separated subset (default: all)")
    parser.add_argument("--out", default="docs/models.md", help="markdown file to write (default docs/models.md; '' for none)")
    parser.add_argument("--cache", default="runs/models_table", help="converted models cache (default runs/models_table)")
    parser.add_argument("--peer", help="FastDepth int8 peer .tflite for the latency ratio "
                        "(default: the shared fastdepth_224_int8 file; '' for none)")
    parser.add_argument("--quick", action="store_true", help="parameters and MACs only: no conversion, no latency")
    parser.add_argument("--cached-only", action="store_true",
                        help="convert nothing: presets without a cached conversion get '-' for sizes and latency")


def run(args: argparse.Namespace) -> int:
    from export.preset_table import build_rows, models_doc, render_table
    from keras_depth.io import atomic_write_text
    from keras_depth.models import preset_names
    from keras_depth.runtime.peers import FASTDEPTH, peer_location

    names = preset_names()
    presets = args.presets.split(",") if args.presets else names
    bad = [p for p in presets if p not in names]
    if bad:
        raise UsageError(f"--presets: unknown {bad} (expected some of: {', '.join(names)})")
    peer = peer_location(FASTDEPTH) if args.peer is None else (Path(args.peer) if args.peer else None)
    if peer is not None and not args.quick and not peer.is_file():
        raise UsageError(f"--peer: file not found: {peer}")
    start = time.time()
    rows, peer_ms = build_rows(presets, args.size, args.latency_size, args.threads, args.runs, Path(args.cache), peer,
                               args.quick, cached_only=args.cached_only)
    table = render_table(rows, args.size, args.latency_size, args.threads, peer_ms, peer)
    print(table)
    if args.out:
        out = Path(args.out)
        previous = out.read_text() if out.is_file() else ""
        atomic_write_text(out, models_doc(table, rows, args.size, args.latency_size, args.threads, args.runs,
                                          time.time() - start, args.quick, args.cached_only, previous))
        print(f"wrote {args.out}")
    return 0
