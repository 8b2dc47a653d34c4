"""The float graph as a TF SavedModel (serving signature ``image`` -> ``depth``), with its manifest
inside as ``manifest.json``: for servers and for re-conversion."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf

from export.manifest import Manifest
from keras_depth.io import atomic_write_with
from keras_depth.kerasapi import keras


def save_saved_model(model: keras.Model, path: Path, manifest: Manifest) -> None:
    """The SavedModel folder, with its manifest inside (``manifest.json``), moved into place at once."""
    h, w = (int(v) for v in model.input_shape[1:3])

    @tf.function(input_signature=[tf.TensorSpec([1, h, w, 3], tf.float32, name="image")])
    def serve(image):
        return {"depth": model(image, training=False)}

    def write(tmp: Path) -> None:
        tf.saved_model.save(model, str(tmp), signatures={"serving_default": serve})
        (tmp / "manifest.json").write_text(manifest.to_json())

    atomic_write_with(path, write)


def saved_model_predict(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """float [N, h, w, 3] in [0, 1] -> raw output [N, h, w], through the serving signature."""
    fn = tf.saved_model.load(str(path)).signatures["serving_default"]

    def predict(xs: np.ndarray) -> np.ndarray:
        return np.concatenate([fn(image=tf.constant(x[None], tf.float32))["depth"].numpy()[..., 0] for x in xs])

    return predict


def saved_model_size_kib(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1024
