"""The deployment stage, on top of the library: TFLite conversion, manifest writing, parity checks,
the variants, op reports, benchmarks and the Android golden fixtures.

Converters (``converters``, ``ptq``, ``qat_convert``) -> the manifest of a converted model
(``model_manifest``, ``manifest``) -> parity (``parity``) -> the orchestration of every variant
(``variants``). Only ``keras_depth.cli`` imports this package (and the benchmarks and tests): QAT
fine-tuning is ``keras_depth.training.qat``, running an exported model ``keras_depth.runtime``,
evaluation reports ``keras_depth.evaluation``.
"""
import keras_depth  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
