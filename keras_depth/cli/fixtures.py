"""``keras-depth fixtures (MODEL.tflite | --tiny) OUT_DIR``: the golden fixtures of the Android
depth-core JVM tests (export/fixtures.py), from an exported model with its manifest, or from the tiny
seeded int8 model the committed fixtures come from:

    keras-depth fixtures --tiny android_demo/depth-core/src/test/resources/fixtures
"""
from __future__ import annotations

import argparse
import tempfile

from keras_depth.errors import UsageError
from keras_depth.pretrained import resolve_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", help="a shipped model's name or an exported .tflite with its manifest beside it")
    parser.add_argument("out_dir", help="where the fixture files go (e.g. android_demo/depth-core/src/test/resources/fixtures)")
    parser.add_argument("--tiny", action="store_true", help="build the tiny deterministic model (in a temp dir) and use it")


def run(args: argparse.Namespace) -> int:
    if args.tiny == bool(args.model):
        raise UsageError("keras-depth fixtures: give either MODEL or --tiny")
    from export.fixtures import build_tiny_model, write_fixtures

    with tempfile.TemporaryDirectory() as tmp:
        model = resolve_model(args.model) if args.model else build_tiny_model(tmp)
        for p in write_fixtures(model, args.out_dir):
            print(f"{p} ({p.stat().st_size} bytes)")
    return 0
