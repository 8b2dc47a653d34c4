"""The deployment stage: QAT, TFLite conversion, manifests, parity checks, the manifest runtime, latency.

Converters (``converters``, ``ptq``, ``qat``) -> the manifest of a converted model (``model_manifest``,
``manifest``, ``metadata``) -> parity (``parity``) -> the orchestration of every variant (``variants``).
Evaluation reports live in ``keras_depth.evaluation``; argument parsing in ``keras_depth.cli``.
"""
import keras_depth  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
