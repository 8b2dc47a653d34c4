"""Running a SavedModel written by ``keras-depth export`` (``export.saved_model``) through its serving
signature ``image`` -> ``depth``."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np


def saved_model_predict(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """float [N, h, w, 3] in [0, 1] -> raw output [N, h, w], through the serving signature."""
    import tensorflow as tf  # here, not above: the rest of the runtime runs without TensorFlow

    fn = tf.saved_model.load(str(path)).signatures["serving_default"]

    def predict(xs: np.ndarray) -> np.ndarray:
        return np.concatenate([fn(image=tf.constant(x[None], tf.float32))["depth"].numpy()[..., 0] for x in xs])

    return predict


def saved_model_size_kib(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1024
