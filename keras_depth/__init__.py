"""keras-depth: monocular depth networks for phones, from tf.data to int8 TFLite."""
import os as _os

# tfmot 0.8 only quantizes Keras 2 models, so tf_keras must back tf.keras before TensorFlow loads.
_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
