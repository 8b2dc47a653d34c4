"""``keras-depth data``: data tools. ``data pack`` writes sharded TFRecords (+ index.json).

    keras-depth data pack CONFIG [--set KEY=VALUE ...] [--split train|val] --out DIR [--shards N]
    keras-depth data pack --dataset TYPE --path PATH [--option KEY=VALUE ...] --out DIR [--shards N]

With CONFIG (a YAML path or a packaged config name) each entry of ``data.<split>`` is packed into
``OUT/NN_TYPE/`` and the matching ``{type: tfrecord, path: ..., weight: ...}`` entries are printed,
to paste into the config. With ``--dataset`` one dataset is packed into OUT.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from keras_depth.cli.common import config_from_args, packaged_configs, positive
from keras_depth.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    pack = sub.add_parser("pack", help="write sharded TFRecords (+ index.json) of a config's datasets or of one dataset")
    # The parent parser's error() raises UsageError (one line, exit 2); subparsers inherit its class.
    src = pack.add_mutually_exclusive_group(required=True)
    # CONFIG as every subcommand takes it (keras_depth.cli.common), optional here because --dataset
    # packs a single dataset without a config.
    src.add_argument("config", nargs="?", metavar="CONFIG",
                     help=f"a YAML file or a packaged config name ({', '.join(packaged_configs())}): "
                          "pack every entry of data.<split>")
    src.add_argument("--dataset", metavar="TYPE", help="dataset type (registry name), with --path")
    pack.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="override a config key, e.g. --set data.strict=true (repeatable; with CONFIG)")
    pack.add_argument("--path", help="the dataset's path (with --dataset)")
    pack.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                      help="a reader option (with --dataset); VALUE is YAML, e.g. scale=256 or intrinsics=[1,1,0,0]")
    pack.add_argument("--split", default="train", choices=["train", "val"], help="config split to pack (default train)")
    pack.add_argument("--out", required=True, help="output folder (local path or gs://...)")
    pack.add_argument("--shards", type=positive(int, "--shards"), default=16, help="number of shard files (default 16)")
    pack.add_argument("--strict", action="store_true", help="fail on the first bad sample instead of skipping it")
    pack.add_argument("--depth-encoding", default="float16", choices=["float16", "png16"])
    pack.add_argument("--depth-scale", type=positive(float, "--depth-scale"), default=256.0,
                      help="png16: stored value = depth * scale (default 256)")
    pack.add_argument("--image-format", default="png", choices=["png", "jpeg"])
    pack.add_argument("--short-side", type=positive(int, "--short-side"), metavar="PIXELS",
                      help="store frames downscaled to this shorter side (e.g. a bit above the training size)")


def _options(pairs: list[str]) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for p in pairs:
        if "=" not in p:
            raise UsageError(f"--option {p!r}: expected KEY=VALUE")
        key, raw = p.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise UsageError(f"--option {key}: value {raw!r} is not valid YAML") from None
    return out


def run(args: argparse.Namespace) -> int:
    if args.action != "pack":
        raise UsageError(f"keras-depth data: unknown action {args.action!r}")
    if args.config and (args.option or args.path):
        raise UsageError("--path/--option go with --dataset, not CONFIG")
    cfg = config_from_args(args) if args.config else None  # a bad config fails before TensorFlow loads
    from keras_depth.data.pack import PackOptions, entry_out_dir, pack_entry, tfrecord_entry

    options = PackOptions(args.shards, args.image_format, args.depth_encoding, args.depth_scale, args.short_side)
    t0 = time.time()
    if args.dataset:
        if not args.path:
            raise UsageError("--dataset needs --path")
        if args.overrides:
            raise UsageError("--set goes with CONFIG, not --dataset (use --option for reader options)")
        entry = {"type": args.dataset, "path": args.path, **_options(args.option)}
        index = pack_entry(entry, args.out, options, strict=args.strict)
        print(f"packed {index['total']} samples ({index['skipped']} skipped) into {args.shards} shards in {args.out} "
              f"({time.time() - t0:.1f} s)")
        return 0
    entries = getattr(cfg.data, args.split)
    context = {"strict": args.strict or cfg.data.strict, "cache_dir": cfg.data.cache_dir, "seed": cfg.seed}
    lines = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "type" not in entry:
            raise UsageError(f"config key 'data.{args.split}[{i}]': expected a mapping with a 'type' key")
        out = entry_out_dir(args.out, i, entry)
        index = pack_entry(entry, out, options, **context)
        print(f"packed {entry['type']}: {index['total']} samples ({index['skipped']} skipped) -> {out}")
        lines.append(f"  - {tfrecord_entry(out, entry)}")
    print(f"done in {time.time() - t0:.1f} s; config entries for the packed data (data.{args.split}):")
    print("\n".join(lines))
    sys.stdout.flush()
    return 0
