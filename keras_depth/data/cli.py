"""``keras-depth data``: data tools. ``data pack`` writes sharded TFRecords of a dataset.

    keras-depth data pack --dataset kitti_depth --path DATA/kitti --out packed/kitti --shards 16
    keras-depth data pack --config configs/mix.yaml --out packed/mix --shards 64 --strict

With ``--config`` each entry of ``data.<split>`` is packed into ``OUT/NN_TYPE/`` and the matching
``{type: tfrecord, path: ..., weight: ...}`` entries are printed, to paste into the config.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from keras_depth.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    pack = sub.add_parser("pack", help="write sharded TFRecords (+ index.json) of a dataset or a config's datasets")
    # The parent parser's error() raises UsageError (one line, exit 2); subparsers inherit its class.
    src = pack.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="YAML config: pack every entry of data.<split>")
    src.add_argument("--dataset", metavar="TYPE", help="dataset type (registry name), with --path")
    pack.add_argument("--path", help="the dataset's path (with --dataset)")
    pack.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                      help="a reader option (with --dataset); VALUE is YAML, e.g. scale=256 or intrinsics=[1,1,0,0]")
    pack.add_argument("--split", default="train", choices=["train", "val"], help="config split to pack (default train)")
    pack.add_argument("--out", required=True, help="output folder (local path or gs://...)")
    pack.add_argument("--shards", type=int, default=16, help="number of shard files (default 16)")
    pack.add_argument("--strict", action="store_true", help="fail on the first bad sample instead of skipping it")
    pack.add_argument("--depth-encoding", default="float16", choices=["float16", "png16"])
    pack.add_argument("--depth-scale", type=float, default=256.0, help="png16: stored value = depth * scale (default 256)")
    pack.add_argument("--image-format", default="png", choices=["png", "jpeg"])
    pack.add_argument("--short-side", type=int, metavar="PIXELS",
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


def _pack_one(entry: dict[str, Any], out: str, args: argparse.Namespace, context: dict[str, Any]) -> dict[str, Any]:
    import tensorflow as tf

    from keras_depth.data.readers.source import BAD_DATA, reraise_data_error
    from keras_depth.data.registry import build_dataset
    from keras_depth.data.tfrecord import pack_tfrecords

    name = entry["type"]
    before = BAD_DATA.counts.get(name, 0)
    ds = build_dataset(entry, **context)
    try:
        index = pack_tfrecords(ds, out, args.shards, image_format=args.image_format, depth_encoding=args.depth_encoding,
                               depth_scale=args.depth_scale, short_side=args.short_side, source={k: v for k, v in entry.items() if k != "weight"})
    except tf.errors.OpError as e:
        reraise_data_error(e)
        raise
    index["skipped"] = BAD_DATA.counts.get(name, 0) - before
    return index


def run(args: argparse.Namespace) -> int:
    if args.action != "pack":
        raise UsageError(f"keras-depth data: unknown action {args.action!r}")
    if args.shards < 1:
        raise UsageError(f"--shards: expected >= 1, got {args.shards}")
    t0 = time.time()
    if args.dataset:
        if not args.path:
            raise UsageError("--dataset needs --path")
        entry = {"type": args.dataset, "path": args.path, **_options(args.option)}
        index = _pack_one(entry, args.out, args, {"strict": args.strict})
        print(f"packed {index['total']} samples ({index['skipped']} skipped) into {args.shards} shards in {args.out} "
              f"({time.time() - t0:.1f} s)")
        return 0
    if args.option or args.path:
        raise UsageError("--path/--option go with --dataset, not --config")
    from keras_depth.config import load_config

    cfg = load_config(args.config)
    entries = getattr(cfg.data, args.split)
    context = {"strict": args.strict or cfg.data.strict, "cache_dir": cfg.data.cache_dir, "seed": cfg.seed}
    lines = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "type" not in entry:
            raise UsageError(f"config key 'data.{args.split}[{i}]': expected a mapping with a 'type' key")
        out = str(Path(args.out) / f"{i:02d}_{entry['type']}") if "://" not in args.out else f"{args.out.rstrip('/')}/{i:02d}_{entry['type']}"
        index = _pack_one(entry, out, args, context)
        print(f"packed {entry['type']}: {index['total']} samples ({index['skipped']} skipped) -> {out}")
        lines.append(f"  - {{type: tfrecord, path: {out}, weight: {entry.get('weight', 1.0)}}}")
    print(f"done in {time.time() - t0:.1f} s; config entries for the packed data (data.{args.split}):")
    print("\n".join(lines))
    sys.stdout.flush()
    return 0
