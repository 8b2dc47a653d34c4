"""Depth metrics: one numpy implementation (``depth_metrics``) and its Keras wrappers (``keras_metrics``).

``keras_metrics`` is not imported here so that numpy-only evaluators do not load Keras.
"""
from keras_depth.metrics.depth_metrics import (
    ALIGNMENTS,
    METRIC_NAMES,
    MetricAccumulator,
    compute_metrics,
    per_image_metrics,
)

__all__ = ["ALIGNMENTS", "METRIC_NAMES", "MetricAccumulator", "compute_metrics", "per_image_metrics"]
