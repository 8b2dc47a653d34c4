"""``keras-depth predict``'s throughput on 640x480 photos, against the runtime in a plain loop.

    .venv/bin/python -m benchmarks.bench_predict              # the shipped model, 40 images
    .venv/bin/python -m benchmarks.bench_predict --model M.tflite --images 10

Three rows, one process, the same images, each timed over all of them after one warm-up image:
``TFLiteDepthEstimator.predict_depth`` in a loop (depth at the model's resolution: the floor);
``DepthModel.predict`` (crop to the model's aspect, bilinear upsampling to 640x480); and predict plus
writing the default outputs (colourised PNG, 16-bit PNG, npy, ply). Then the command itself on one
photo, as a user runs it: wall time in all, and the part after start-up (what the command reports).
The images are rooms from the project's synthetic renderer. Prints markdown.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import REPO, doc_sections
from benchmarks.bench_refine import TITLE

SIZE = (480, 640)


def images(n: int) -> list:
    from keras_depth.data.synthetic.frames import render_frame

    distinct = [render_frame(7, i, *SIZE, split="val").image for i in range(min(n, 8))]
    return [distinct[i % len(distinct)] for i in range(n)]


def timed(fn, items) -> float:
    fn(items[0])  # warm-up: the first invoke allocates
    start = time.perf_counter()
    for x in items:
        fn(x)
    return len(items) / (time.perf_counter() - start)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="default: the shipped model")
    p.add_argument("--images", type=int, default=40)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--doc", default="docs/predict.md", help="the doc whose section this writes ('' for none)")
    args = p.parse_args(argv)
    from keras_depth.inference.model import load
    from keras_depth.pretrained import resolve_model
    from keras_depth.runtime.tflite import TFLiteDepthEstimator

    path = resolve_model(args.model)
    imgs = images(args.images)
    est = TFLiteDepthEstimator(path, num_threads=args.threads)
    model = load(path, num_threads=args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        rates = {
            "TFLiteDepthEstimator.predict_depth, plain loop (model resolution)": timed(est.predict_depth, imgs),
            "DepthModel.predict (at 640x480)": timed(model.predict, imgs),
            "predict + save png, png16, npy, ply": timed(
                lambda x: model.predict(x).save(tmp, "d", ["png", "png16", "npy", "ply"], fov_deg=60), imgs),
        }
        import cv2

        photo = Path(tmp) / "photo.png"
        cv2.imwrite(str(photo), imgs[0][..., ::-1])
        cmd = [sys.executable, "-m", "keras_depth.cli", "predict", str(photo), "--model", str(path), "--out",
               str(Path(tmp) / "out"), "--fov", "60", "--threads", str(args.threads)]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        after = float(proc.stdout.split(" in ")[1].split(" s ")[0])
    base = next(iter(rates.values()))
    out = [f"`keras-depth predict` with `{path.relative_to(REPO) if path.is_relative_to(REPO) else path}`, "
           f"{args.images} synthetic {SIZE[1]}x{SIZE[0]} images, {args.threads} threads "
           "(`python -m benchmarks.bench_predict`):", "",
           "| path | images/s | vs the plain loop |", "|---|---|---|"]
    out += [f"| {name} | {rate:.1f} | {rate / base:.2f}x |" for name, rate in rates.items()]
    out += ["", f"One photo through the command: {wall:.2f} s wall in all, {after:.2f} s of it after start-up "
            "(predict and writing png, png16, npy, ply; the model is loaded before)."]
    doc_sections.publish(out, args.doc, "benchmarks/bench_predict.py", TITLE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
