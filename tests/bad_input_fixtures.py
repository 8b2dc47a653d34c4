"""The files of the bad-input catalogue (tests/test_bad_inputs.py), built once per test module: a tiny
config over tiny folders of image/depth pairs, tiny models (Keras, TFLite with manifests) and every
kind of broken file the catalogue feeds the CLI."""
from __future__ import annotations

import dataclasses

import json
import shutil
from pathlib import Path

import cv2
import numpy as np

HW = (32, 32)


def _write_pairs(root: Path, n: int, seed: int, depth_mm: tuple[int, int] = (500, 5000)) -> None:
    rng = np.random.default_rng(seed)
    (root / "rgb").mkdir(parents=True, exist_ok=True)
    (root / "depth").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(root / "rgb" / f"{i:03d}.png"), rng.integers(0, 256, (*HW, 3), dtype=np.uint8))
        cv2.imwrite(str(root / "depth" / f"{i:03d}.png"), rng.integers(*depth_mm, HW).astype(np.uint16))


def _bad_folder(root: Path, kind: str, seed: int) -> Path:
    """Two good pairs plus one bad sample of ``kind`` (``990``, sorted first... last: named ``000``
    so that a strict reader meets it first)."""
    _write_pairs(root, 2, seed)
    rgb, depth = root / "rgb" / "bad.png", root / "depth" / "bad.png"
    if kind != "zero_byte_rgb":
        cv2.imwrite(str(rgb), np.zeros((*HW, 3), np.uint8))
    if kind == "corrupt_rgb":
        rgb.write_bytes(b"this is not a PNG file")
        cv2.imwrite(str(depth), np.full(HW, 1000, np.uint16))
    elif kind == "zero_byte_rgb":
        rgb.write_bytes(b"")
        cv2.imwrite(str(depth), np.full(HW, 1000, np.uint16))
    elif kind == "corrupt_depth":
        depth.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    elif kind == "wrong_shape_depth":
        cv2.imwrite(str(depth), np.full((HW[0] // 2, HW[1]), 1000, np.uint16))
    elif kind in ("nan_depth", "inf_depth"):
        d = np.full(HW, 1.5, np.float32)
        d[4:8, 4:8] = np.nan if kind == "nan_depth" else np.inf
        np.save(root / "depth" / "bad.npy", d)
    return root


def build(root: Path) -> dict[str, Path]:
    """Every fixture under ``root``; names -> paths (the catalogue's ``{name}`` placeholders)."""
    from export.manifest import write_manifest
    from export.converters import convert_float32
    from export.model_manifest import build_manifest
    from export.variants import write_tflite
    from keras_depth.config import load_config
    from keras_depth.io import atomic_write_text
    from keras_depth.kerasapi import keras
    from keras_depth.spec import DepthSpec
    from keras_depth.training.artifacts import model_meta

    f: dict[str, Path] = {"root": root}
    data = root / "data"
    _write_pairs(data / "good", 6, 0)
    _write_pairs(data / "nolabel", 4, 1, depth_mm=(0, 1))  # every depth pixel 0: no label at all
    for i, kind in enumerate(("corrupt_rgb", "zero_byte_rgb", "corrupt_depth", "wrong_shape_depth", "nan_depth", "inf_depth")):
        f[kind] = _bad_folder(data / kind, kind, 10 + i)
    mixed = data / "mixed"
    _write_pairs(mixed, 3, 20)
    for kind in ("corrupt_rgb", "zero_byte_rgb", "corrupt_depth", "wrong_shape_depth", "nan_depth", "inf_depth"):
        for sub in ("rgb", "depth"):
            for src in (f[kind] / sub).glob("bad.*"):
                shutil.copy(src, mixed / sub / f"{kind}{src.suffix}")
    allbad = data / "allbad"
    for sub in ("rgb", "depth"):
        (allbad / sub).mkdir(parents=True)
    for i in range(3):
        (allbad / "rgb" / f"{i:03d}.png").write_bytes(b"not an image")
        cv2.imwrite(str(allbad / "depth" / f"{i:03d}.png"), np.full(HW, 1000, np.uint16))
    f.update(good=data / "good", nolabel=data / "nolabel", mixed=mixed, allbad=allbad)

    # The config of a tiny run on the good pairs.
    run = root / "run"
    run.mkdir()
    entry = f"{{type: folder_pairs, path: {data / 'good'}}}"
    ok = root / "ok.yaml"
    ok.write_text(f"""name: catalogue
output_dir: {run}
data:
  train: [{entry}]
  val: [{entry}]
  image_size: [{HW[0]}, {HW[1]}]
  batch_size: 2
  shuffle_buffer: 4
  cache_dir: {root / 'cache'}
model:
  name: tiny_unet
  spec: {{kind: depth, semantics: metric, min_depth: 0.25, max_depth: 10.0}}
train: {{epochs: 2, steps_per_epoch: 2, verbose: 0, tensorboard_images: 1}}
qat: {{epochs: 1, steps_per_epoch: 1}}
export: {{variants: [float32], representative_samples: 2, parity_samples: 1, benchmark_runs: 1, peers: []}}
eval: {{figure_samples: 1}}
""")
    f["ok"] = ok
    (root / "empty.yaml").write_text("")
    (root / "binary.yaml").write_bytes(bytes(range(256)))
    (root / "notyaml.yaml").write_text("train: {epochs: [1,\n  oops")
    (root / "list.yaml").write_text("- train\n- epochs\n")
    (root / "folder.yaml").mkdir()
    for name in ("empty", "binary", "notyaml", "list", "folder"):
        f[f"{name}_yaml"] = root / f"{name}.yaml"

    config = load_config(ok)
    spec = DepthSpec.from_dict(config.model.spec)
    layers = keras.layers

    def depth_model(hw, name, lam=False):
        inp = keras.Input((*hw, 3))
        x = layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
        x = layers.Conv2D(1, 3, padding="same")(x)
        if lam:
            out = layers.Lambda(lambda t: t * t + 0.5, name="decode")(x)  # no closure: h5 can store it
        else:
            out = layers.Activation("sigmoid")(x)
            out = layers.Rescaling(9.75, offset=0.25)(out)
        return keras.Model(inp, out, name=name)

    model = depth_model(HW, "tiny_depth")
    model.save(run / "model.keras")
    atomic_write_text(run / "model_meta.json", json.dumps(model_meta(config)))
    blob = convert_float32(model)
    tfl = run / "model_float32.tflite"
    write_tflite(tfl, blob, build_manifest(tfl.name, blob, "float32", spec))
    f.update(model=run / "model.keras", tflite=tfl, manifest=tfl.with_suffix(".json"))
    (run / "relative").mkdir()
    rel = run / "relative" / "model_float32.tflite"
    write_tflite(rel, blob, build_manifest(rel.name, blob, "float32", dataclasses.replace(spec, semantics="relative")))
    f["relative_tflite"] = rel

    models = root / "models"
    models.mkdir()
    lam = depth_model(HW, "with_lambda", lam=True)
    lam.save(models / "lambda.keras")
    lam.save(models / "lambda.h5")
    inp = keras.Input((*HW, 3))
    cls = keras.Model(inp, layers.Dense(10)(layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3)(inp))), name="classifier")
    cls.save(models / "classifier.keras")
    cls_blob = convert_float32(cls)
    (models / "classifier.tflite").write_bytes(cls_blob)
    half = depth_model((HW[0] // 2, HW[1] // 2), "half")
    (models / "half").mkdir()
    half.save(models / "half" / "model.keras")  # no model_meta.json beside it
    half_blob = convert_float32(half)
    (models / "half.tflite").write_bytes(half_blob)
    shutil.copy(f["manifest"], models / "half.json")  # the full-resolution model's manifest
    # A copy of the float32 model beside the manifest of another model (disparity, another range).
    (models / "other").mkdir()
    other = models / "other" / "model_float32.tflite"
    shutil.copy(tfl, other)
    m = build_manifest(tfl.name, blob, "float32", DepthSpec(kind="disparity", semantics="metric", min_depth=0.5, max_depth=20.0))
    write_manifest(m, other)
    f["other_json"] = other.with_suffix(".json")
    # A run whose model_meta.json belongs to the half-resolution model.
    (models / "meta").mkdir()
    shutil.copy(run / "model.keras", models / "meta" / "model.keras")
    meta = model_meta(config)
    meta["input"]["height"], meta["input"]["width"] = HW[0] // 2, HW[1] // 2
    (models / "meta" / "model_meta.json").write_text(json.dumps(meta))
    good = (run / "model.keras").read_bytes()
    (models / "truncated.keras").write_bytes(good[: len(good) // 3])
    h5 = models / "good.h5"
    model.save(h5)
    (models / "truncated.h5").write_bytes(h5.read_bytes()[:4096])
    (models / "empty.keras").write_bytes(b"")
    (models / "random.keras").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    model.save_weights(models / "weights_only.h5")
    (models / "random.tflite").write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    for name in ("lambda.keras", "lambda.h5", "classifier.keras", "classifier.tflite", "half.tflite", "truncated.keras",
                 "truncated.h5", "empty.keras", "random.keras", "weights_only.h5", "random.tflite"):
        f[name.replace(".", "_")] = models / name
    f.update(half_keras=models / "half" / "model.keras", other_tflite=other, meta_keras=models / "meta" / "model.keras")

    video = root / "video"
    (video / "frames").mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(video / "frames" / f"{i:03d}.png"), np.random.default_rng(i).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    (video / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2000))
    (video / "empty.mp4").write_bytes(b"")
    f.update(frames=video / "frames", corrupt_mp4=video / "corrupt.mp4", empty_mp4=video / "empty.mp4")
    (root / "empty_dir").mkdir()
    f["empty_dir"] = root / "empty_dir"
    (root / "readonly").mkdir()
    f["readonly"] = root / "readonly"
    return f
