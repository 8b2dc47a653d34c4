"""The deployment stage: QAT, TFLite conversion, manifests, parity checks, evaluation, latency."""
import keras_depth  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
