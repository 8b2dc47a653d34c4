"""``keras-depth models``: the preset table (params, MACs, TFLite sizes, int8 latency against the
FastDepth peer), generated from the code into docs/models.md (``export.preset_table``).
``keras-depth models --pretrained``: the models that ship with the package (``keras_depth.pretrained``),
listed without loading TensorFlow."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from keras_depth.cli.common import positive
from keras_depth.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pretrained", action="store_true",
                        help="list the models that ship with the package (name, semantics, licence, input size, files, "
                        "model card) instead of the preset table; the other flags are ignored")
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
    if args.pretrained:
        print(_pretrained_listing())
        return 0
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


def _pretrained_listing() -> str:
    """A block per shipped model: one line of what it is, then its files with sizes and the
    ``--model`` value that picks each model file."""
    from keras_depth.pretrained import BARE, FILES, ROOT, default_model, shipped_models

    models = shipped_models()
    if not models:
        return f"no model ships in this install ({ROOT} holds none); give --model PATH to predict"
    try:
        default = default_model().name
    except UsageError as e:  # several ship and none is the default: the listing still helps choose one
        default = f"none ({e})"
    lines = [f"{len(models)} shipped model(s) in {ROOT}; the default (predict without --model): {default}"]
    for m in models:
        h, w = m.input_hw
        licence = m.licence or "not stated in its manifest"
        lines.append(f"{m.name}: {m.semantics} depth, input {h}x{w}, licence {licence}; card {m.card}")
        refs = {FILES[v]: (m.name if v == BARE else f"{m.name}:{v}") for v in FILES}
        for f in m.files:
            pick = f"  --model {refs[f.name]}" if f.name in refs else ""
            lines.append(f"    {f.name:<24} {_size(f.stat().st_size):>10}{pick}")
    return "\n".join(lines)


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB" if n >= 2**10 else f"{n} B"
