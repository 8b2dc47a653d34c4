"""The float graph as a TF SavedModel (serving signature ``image`` -> ``depth``), with its manifest
inside as ``manifest.json``: for servers and for re-conversion (run it with
``keras_depth.runtime.saved_model``)."""
from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from keras_depth.io import atomic_write_with
from keras_depth.kerasapi import keras
from keras_depth.runtime.manifest import Manifest


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
