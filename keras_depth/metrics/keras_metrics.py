"""Keras wrappers around ``keras_depth.metrics.depth_metrics`` (the one implementation).

Each metric runs ``per_image_metrics`` through ``tf.numpy_function`` and accumulates the sum of
per-image values and the number of evaluated images, so the result over an epoch is the mean of
per-image metrics (``averaging="per_image"``), the same as ``MetricAccumulator``.

``y_true`` is the packed target (``keras_depth.packed_target``); ``y_pred`` is ``[B,H,W,1]`` depth
(or disparity with ``prediction="disparity"``). Samples with affine-disparity semantics have no
depth to compare against and are skipped.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from keras_depth.kerasapi import keras
from keras_depth.metrics.depth_metrics import ALIGNMENTS, METRIC_NAMES, per_image_metrics
from keras_depth.packed_target import unpack_target
from keras_depth.spec import AFFINE_DISPARITY

PREDICTIONS = ("depth", "disparity", "log_depth")  # keras_depth.spec.OUTPUT_KINDS


@keras.saving.register_keras_serializable(package="keras_depth")
class DepthMetric(keras.metrics.Metric):
    """One entry of METRIC_NAMES, averaged over images (see module docstring).

    The named subclasses (``AbsRel`` ... ``Delta3``) fix ``metric``.
    """

    default_metric: str | None = None

    def __init__(
        self,
        metric: str | None = None,
        alignment: str = "none",
        min_depth: float | None = None,
        max_depth: float | None = None,
        prediction: str = "depth",
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        metric = metric or self.default_metric
        if metric not in METRIC_NAMES:
            raise ValueError(f"metric: expected one of {METRIC_NAMES}, got {metric!r}")
        if alignment not in ALIGNMENTS:
            raise ValueError(f"alignment: expected one of {ALIGNMENTS}, got {alignment!r}")
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction: expected one of {PREDICTIONS}, got {prediction!r}")
        if name is None:
            name = metric if alignment == "none" else f"{metric}_{alignment}"
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.metric = metric
        self.alignment = alignment
        self.min_depth = min_depth
        self.max_depth = max_depth
        self.prediction = prediction
        self._index = METRIC_NAMES.index(metric)
        self.total = self.add_weight(name="total", initializer="zeros", dtype=tf.float64)
        self.count = self.add_weight(name="count", initializer="zeros", dtype=tf.float64)

    def _batch_sums(self, gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values, evaluated = per_image_metrics(
            gt,
            pred,
            mask,
            alignment=self.alignment,
            min_depth=self.min_depth,
            max_depth=self.max_depth,
        )
        return (
            np.asarray(values[evaluated, self._index].sum(), np.float64),
            np.asarray(float(evaluated.sum()), np.float64),
        )

    def update_state(self, y_true: tf.Tensor, y_pred: tf.Tensor, sample_weight: tf.Tensor | None = None) -> None:
        depth, mask, semantics = unpack_target(y_true)
        y_pred = tf.cast(y_pred, tf.float32)
        if self.prediction == "disparity":
            y_pred = 1.0 / tf.maximum(y_pred, 1e-8)
        elif self.prediction == "log_depth":
            y_pred = tf.exp(y_pred)
        keep = tf.cast(tf.not_equal(semantics, AFFINE_DISPARITY), tf.float32)
        mask = mask * keep[:, None, None, None]
        if sample_weight is not None:
            # A zero sample weight drops the image; other weights only gate (per-image average).
            w = tf.reshape(tf.cast(sample_weight, tf.float32), [-1])
            w = tf.broadcast_to(w, tf.shape(keep))
            mask = mask * tf.cast(w > 0, tf.float32)[:, None, None, None]
        total, count = tf.numpy_function(self._batch_sums, [depth, y_pred, mask], [tf.float64, tf.float64])
        self.total.assign_add(tf.reshape(total, []))
        self.count.assign_add(tf.reshape(count, []))

    def result(self) -> tf.Tensor:
        value = tf.where(self.count > 0, self.total / tf.maximum(self.count, 1.0), tf.constant(np.nan, tf.float64))
        return tf.cast(value, tf.float32)

    def reset_state(self) -> None:
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            metric=self.metric,
            alignment=self.alignment,
            min_depth=self.min_depth,
            max_depth=self.max_depth,
            prediction=self.prediction,
        )
        return config


@keras.saving.register_keras_serializable(package="keras_depth")
class AbsRel(DepthMetric):
    default_metric = "abs_rel"


@keras.saving.register_keras_serializable(package="keras_depth")
class SqRel(DepthMetric):
    default_metric = "sq_rel"


@keras.saving.register_keras_serializable(package="keras_depth")
class RMSE(DepthMetric):
    default_metric = "rmse"


@keras.saving.register_keras_serializable(package="keras_depth")
class RMSELog(DepthMetric):
    default_metric = "rmse_log"


@keras.saving.register_keras_serializable(package="keras_depth")
class Log10(DepthMetric):
    default_metric = "log10"


@keras.saving.register_keras_serializable(package="keras_depth")
class Delta1(DepthMetric):
    default_metric = "delta1"


@keras.saving.register_keras_serializable(package="keras_depth")
class Delta2(DepthMetric):
    default_metric = "delta2"


@keras.saving.register_keras_serializable(package="keras_depth")
class Delta3(DepthMetric):
    default_metric = "delta3"


METRIC_CLASSES: dict[str, type[DepthMetric]] = {
    "abs_rel": AbsRel,
    "sq_rel": SqRel,
    "rmse": RMSE,
    "rmse_log": RMSELog,
    "log10": Log10,
    "delta1": Delta1,
    "delta2": Delta2,
    "delta3": Delta3,
}

