"""keras-depth: monocular depth networks for phones, from tf.data to int8 TFLite."""
import os as _os

# tfmot 0.8 only quantizes Keras 2 models, so tf_keras must back tf.keras before TensorFlow loads.
_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"


def __getattr__(name: str):
    # The Python API (``kd.load(...).predict(rgb)``), imported on first use so that importing
    # keras_depth (and ``keras-depth --help``) stays free of TensorFlow.
    if name in ("load", "DepthModel"):
        from keras_depth.inference import model

        return getattr(model, name)
    if name == "DepthResult":
        from keras_depth.inference.result import DepthResult

        return DepthResult
    raise AttributeError(f"module 'keras_depth' has no attribute {name!r}")


__all__ = ["__version__", "load", "DepthModel", "DepthResult"]
