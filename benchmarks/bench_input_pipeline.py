"""Images/s of the augmented input pipeline, from raw files and from TFRecords, against the default
model's training rate on the same machine, at the default model's input size and at 256x256.

    .venv/bin/python -m benchmarks.bench_input_pipeline                  # Redwood + KITTI, model at 128 and 256
    .venv/bin/python -m benchmarks.bench_input_pipeline --no-model       # input only
    .venv/bin/python -m benchmarks.bench_input_pipeline --images 200 --json out.json

Target (keras-depth issue): input images/s >= 5x the images/s that the default model trains at, so
input never limits training. Pipeline: reader -> repeat -> augment_sample (random scale-crop to
the model's size, flip, 5 deg rotation, colour jitter) -> batch 16 -> prefetch, with tf.data's
AUTOTUNE parallelism; input and model are compared at the same size. Raw files: real Redwood (640x480 JPEG + 16-bit PNG) and KITTI (1242x375 PNG + 16-bit
PNG) frames from ../shared/data, read through the registered readers. TFRecords: the same frames
packed by ``pack_tfrecords`` (PNG images, float16 depth), at full size and downscaled to the short side
that each crop size needs (``short_side_for``: ``keras-depth data pack --short-side``). Figures are printed, not asserted: on shared
machines they move with whatever else runs.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

import keras_depth  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from benchmarks import REPO

SHARED = Path(os.environ.get("KERAS_DEPTH_SHARED", REPO.parent / "shared")) / "data"
SOURCES = {
    "redwood": {"type": "folder_pairs", "path": str(SHARED / "rgbd/open3d_redwood_tum_sun_nyuraw"), "format": "png16", "scale": 1000},
    "kitti": {"type": "kitti_depth", "path": str(SHARED / "rgbd/kitti_annotated")},
}
TARGET_RATIO = 5.0
BATCH = 16


def _augmented(ds, size: int, rotation: float):
    import tensorflow as tf

    from keras_depth.data.augment import augment_sample

    def aug(s):
        s = {k: s[k] for k in ("image", "depth", "mask", "semantics", "intrinsics")}
        return augment_sample(s, out_size=[size, size], random_crop=True, crop_scale=[0.75, 1.0], flip=True,
                              rotation_deg=rotation, color_jitter=0.2)

    return ds.repeat().map(aug, num_parallel_calls=tf.data.AUTOTUNE).batch(BATCH).prefetch(tf.data.AUTOTUNE)


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this process
    return r.ru_utime + r.ru_stime


def _rate(ds, images: int) -> tuple[float, float]:
    """(images/s wall-clock, CPU milliseconds per image). The CPU figure holds when other jobs share
    the cores and the wall-clock one drops."""
    it = iter(ds)
    next(it)  # warm-up: graph tracing, thread pools, first files
    batches = max(1, images // BATCH)
    t, c = time.perf_counter(), _cpu_seconds()
    for _ in range(batches):
        next(it)
    n = batches * BATCH
    return n / (time.perf_counter() - t), 1000.0 * (_cpu_seconds() - c) / n




def short_side_for(size: int) -> int:
    """The short side to pack frames at for ``size`` crops: the smallest crop (0.75 of the short side,
    ``crop_scale``) still covers ``size`` pixels, so packing loses no detail training would see."""
    return int(math.ceil(size / 0.75))


def _pack(raw, out: Path, short: Optional[int]) -> tuple[str, float]:
    """(path, images/s of packing) of ``raw`` x 4 packed into 4 TFRecord shards."""
    from keras_depth.data.tfrecord import pack_tfrecords

    t = time.perf_counter()
    index = pack_tfrecords(raw.repeat(4), str(out), shards=4, short_side=short)
    return str(out), index["total"] / (time.perf_counter() - t)


def _row(ds, size: int, args) -> dict:
    rate, cpu = _rate(_augmented(ds, size, args.rotation), args.images)
    return {"images_per_s": round(rate, 1), "cpu_ms_per_image": round(cpu, 1)}


def model_rate(size: int, steps: int) -> Optional[tuple[float, float]]:
    """Images/s of ``model.fit`` steps of the default model (config default) on in-memory batches."""
    try:
        from keras_depth.models import build_model
    except ImportError:
        return None
    import numpy as np
    import tensorflow as tf

    from keras_depth.config import Config
    from keras_depth.kerasapi import keras
    from keras_depth.spec import DepthSpec

    cfg = Config()
    try:
        model = build_model(cfg.model.name, (size, size, 3), DepthSpec.from_dict(cfg.model.spec), None, **cfg.model.params)
    except Exception as e:  # noqa: BLE001 -- the model is another module's work; report the input alone
        print(f"model: build_model failed ({type(e).__name__}: {e}); input figures only")
        return None
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mae")
    x = np.random.default_rng(0).uniform(size=(BATCH, size, size, 3)).astype(np.float32)
    y = np.random.default_rng(1).uniform(0.5, 5, size=(BATCH,) + tuple(model.output_shape[1:])).astype(np.float32)
    ds = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)  # warm-up (tracing)
    t, c = time.perf_counter(), _cpu_seconds()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    n = steps * BATCH
    return n / (time.perf_counter() - t), 1000.0 * (_cpu_seconds() - c) / n


def main(argv: Optional[Sequence[str]] = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=480, help="images timed per measurement (after one warm-up batch)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--sources", default="redwood,kitti")
    ap.add_argument("--rotation", type=float, default=5.0, help="max rotation in degrees (0: the training pipeline's default)")
    ap.add_argument("--no-downscaled", action="store_true", help="skip the TFRecords packed at each crop size's short side")
    ap.add_argument("--model-steps", type=int, default=5)
    ap.add_argument("--no-model", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    import tensorflow as tf

    from keras_depth.data.registry import build_dataset
    from keras_depth.config import Config

    sizes = sorted({Config().data.image_size[0], args.size})
    result: dict = {"benchmark": "input_pipeline", "sizes": sizes, "batch": BATCH, "rotation_deg": args.rotation,
                    "cpus": os.cpu_count(), "gpus": len(tf.config.list_physical_devices("GPU")), "input": {}}
    with tempfile.TemporaryDirectory(prefix="bench_input_") as tmp:
        for name in args.sources.split(","):
            raw = build_dataset(SOURCES[name])
            full = _pack(raw, Path(tmp) / f"{name}_full", None)
            short = {} if args.no_downscaled else {
                size: _pack(raw, Path(tmp) / f"{name}_{short_side_for(size)}", short_side_for(size)) for size in sizes}
            for size in sizes:
                # Each model size against input cropped to that size: a 256 crop costs more than a 128 one.
                packed = {"tfrecord": full, **({f"tfrecord_short{short_side_for(size)}": short[size]} if size in short else {})}
                row = {"raw": _row(raw, size, args)}
                for key, (path, pack_rate) in packed.items():
                    row[key] = _row(build_dataset({"type": "tfrecord", "path": path}), size, args)
                    row[key]["pack_images_per_s"] = round(pack_rate, 1)
                result["input"][f"{name}@{size}"] = row
                print(f"{name:8s} crops {size}x{size}: " + "   ".join(
                    f"{key}: {v['images_per_s']:6.1f}/s {v['cpu_ms_per_image']:5.1f} cpu-ms" for key, v in row.items()), flush=True)
    if not args.no_model:
        result["model"] = {}
        for size in sizes:
            rate = model_rate(size, args.model_steps)
            if rate is None:
                print("model: keras_depth.models.build_model is not available; input figures only")
                break
            result["model"][str(size)] = {"images_per_s": round(rate[0], 2), "cpu_ms_per_image": round(rate[1], 1)}
            print(f"model    default preset, fit at {size}x{size}, batch {BATCH}: {rate[0]:6.2f}/s {rate[1]:6.1f} cpu-ms", flush=True)
        if result["model"]:
            # Contention moves wall-clock rates, so the ratio is taken on CPU cost: how many images the input
            # prepares for the CPU time the model spends training on one. (With the cores to itself,
            # images/s = cores * 1000 / cpu-ms.)
            result["ratios"] = {}
            for msize, m in result["model"].items():
                for key_in, row in result["input"].items():
                    name, size = key_in.split("@")
                    if size != msize:
                        continue
                    for key, v in row.items():
                        ratio = m["cpu_ms_per_image"] / v["cpu_ms_per_image"]
                        result["ratios"][f"model{msize}/{name}/{key}"] = round(ratio, 1)
                        print(f"ratio    model at {msize}: {name}/{key}: input {ratio:5.1f}x the model's rate "
                              f"(target >= {TARGET_RATIO:.0f}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
