"""Predictors: uint8 RGB [h, w, 3] -> depth [h, w], one per kind of model, each run as it is deployed.

TFLite files (ours or a third party's, given a manifest) run through ``keras_depth.runtime`` driven by
their manifests, as a phone would run them; Keras models and SavedModels get the same resize
(``keras_depth.geometry.resize_rgb``) and the same output decoding (``keras_depth.spec.decode_output``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from keras_depth.config import Config
from keras_depth.errors import DataError, UsageError
from keras_depth.evaluation.variant_id import VariantId
from keras_depth.geometry import resize_rgb
from keras_depth.kerasapi import keras
from keras_depth.models.io import load_trained_model, read_model_meta, require_depth_model
from keras_depth.runtime.manifest import read_manifest
from keras_depth.runtime.peers import peer_manifest, peer_path
from keras_depth.runtime.saved_model import saved_model_predict, saved_model_size_kib
from keras_depth.runtime.tflite import TFLiteDepthEstimator
from keras_depth.spec import DepthSpec, decode_output

Predictor = Callable[[np.ndarray], np.ndarray]  # uint8 RGB [h, w, 3] -> depth [h, w]


def keras_input_hw(model: keras.Model) -> tuple[int, int]:
    """The (h, w) of the model's input, which ``keras_predictor`` resizes every image to."""
    h, w = model.input_shape[1:3]
    return int(h), int(w)


def keras_predictor(model: keras.Model, spec: DepthSpec) -> Predictor:
    hw = keras_input_hw(model)
    # One graph trace, then milliseconds a frame; an eager call walks every layer in Python each time.
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def predict(rgb: np.ndarray) -> np.ndarray:
        x = resize_rgb(rgb, hw)[None].astype(np.float32) / 255.0
        y = forward(x).numpy()[0, ..., 0]
        return np.asarray(spec.output_to_depth(y), np.float32)

    return predict


def saved_model_predictor(path: Path) -> Predictor:
    """A SavedModel written by ``keras-depth export`` (its manifest is ``manifest.json`` inside)."""
    m = read_manifest(path)
    run = saved_model_predict(path)
    hw = (m.input.height, m.input.width)

    def predict(rgb: np.ndarray) -> np.ndarray:
        y = run(resize_rgb(rgb, hw)[None].astype(np.float32) / 255.0)[0]
        return np.asarray(decode_output(m.output.kind, m.output.range, y), np.float32)

    return predict


def tflite_predictor(path: Path, num_threads: int = 2, manifest: Optional[Path] = None) -> tuple[Predictor, TFLiteDepthEstimator]:
    """``path`` with the manifest beside it, embedded in it, or given as ``manifest`` (a JSON file)."""
    est = TFLiteDepthEstimator(path, manifest=read_manifest(path, manifest), num_threads=num_threads)
    return est.predict_depth, est


def constant_predictor(value: float) -> Predictor:
    return lambda rgb: np.full(rgb.shape[:2], value, np.float32)


@dataclasses.dataclass
class LoadedModel:
    """A model ready to evaluate: ``id``, ``predict``, file size in KiB (None for a model in memory)
    and ``input_hw``, the (height, width) its predictor resizes every image to."""

    id: VariantId
    predict: Predictor
    size_kib: Optional[float]
    input_hw: tuple[int, int]


def load_model(ref: str, config: Config, num_threads: int = 2, unsafe: bool = False) -> LoadedModel:
    """The model of a reference: ``peer:NAME`` (keras_depth.runtime.peers), ``MODEL.tflite`` or
    ``MODEL.tflite=MANIFEST.json``, a Keras file (``.keras``/``.h5``), or a SavedModel folder (with
    ``manifest.json`` inside). Each is checked against its manifest before it scores anything
    (``keras_model_spec`` for Keras files; ``TFLiteDepthEstimator`` for TFLite files); ``unsafe``:
    load Keras files without the check of ``keras_depth.models.io``."""
    if ref.startswith("peer:"):
        name = ref[5:]
        path, manifest = peer_path(name), peer_manifest(name)
        est = TFLiteDepthEstimator(path, manifest=manifest, num_threads=num_threads)
        return LoadedModel(VariantId("peer", name, str(path)), est.predict_depth, path.stat().st_size / 1024, est.input_size)
    model_ref, _, manifest_ref = ref.partition("=")
    p = Path(model_ref)
    if not p.exists():
        raise UsageError(f"model not found: {p}")
    if p.suffix == ".tflite":
        manifest = Path(manifest_ref) if manifest_ref else None
        predict, est = tflite_predictor(p, num_threads, manifest)
        return LoadedModel(VariantId("tflite", est.manifest.variant, str(p)), predict, p.stat().st_size / 1024, est.input_size)
    if p.is_dir() and (p / "saved_model.pb").is_file():
        m = read_manifest(p).input
        return LoadedModel(VariantId("saved_model", "float", str(p)), saved_model_predictor(p), saved_model_size_kib(p),
                           (m.height, m.width))
    if p.suffix in (".keras", ".h5"):
        model = require_depth_model(load_trained_model(p, unsafe=unsafe), p)
        return LoadedModel(VariantId("keras", "float", str(p)), keras_predictor(model, keras_model_spec(model, p, config)),
                           p.stat().st_size / 1024, keras_input_hw(model))
    raise UsageError(f"{p}: expected a .tflite, a .keras/.h5, a SavedModel folder or peer:NAME")


def keras_model_spec(model: keras.Model, path: Path, config: Config) -> DepthSpec:
    """How to read ``model``'s output: the spec of the ``model_meta.json`` that ``train`` wrote beside
    it, else the config's. A DataError when the meta belongs to another model or, without one, when
    the model's input is not the config's ``data.image_size`` (a model of another config)."""
    hw = keras_input_hw(model)
    spec = read_model_meta(path, hw)
    if spec is not None:
        return spec
    want = tuple(int(v) for v in config.data.image_size)
    if hw != want:
        raise DataError(f"{path}: input {hw[0]}x{hw[1]}, but the config's data.image_size is {want[0]}x{want[1]} "
                        "(a model of another config? give that config, or keep model_meta.json beside the model)")
    return DepthSpec.from_dict(config.model.spec)


def load_predictor(ref: str, config: Config, num_threads: int = 2,
                   unsafe: bool = False) -> tuple[VariantId, Predictor, Optional[float]]:
    """(id, predictor, size in KiB) of ``load_model(ref, config, num_threads, unsafe)``."""
    m = load_model(ref, config, num_threads, unsafe)
    return m.id, m.predict, m.size_kib
