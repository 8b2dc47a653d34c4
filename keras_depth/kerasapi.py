"""The project's one Keras import.

Everything else writes ``from keras_depth.kerasapi import keras``. Keras 3 cannot be quantized by
tensorflow-model-optimization 0.8, so we pin Keras 2 (``tf_keras``) and never ``import keras``.
"""
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

__all__ = ["keras", "tf", "layers"]

layers = keras.layers


def tfmot():
    """tensorflow_model_optimization, imported on first use (it takes seconds to load)."""
    import tensorflow_model_optimization as _tfmot

    return _tfmot
