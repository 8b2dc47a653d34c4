"""QAT as self-distillation (``qat.target: float_model``): the QAT twin learns the float model's
prediction on each training batch, not the labels.

Why (issue 17, docs/export.md "QAT against PTQ"): a few dozen QAT steps on the labels re-fit the
model, and on the quickstart they moved its metric output's global scale by 1-4 % either way, so QAT
scored below PTQ on some runs. With the float model's prediction as the target, fine-tuning only has
to undo what the fake-quant nodes change (distillation from the full-precision network, as in Mishra &
Marr 2018, "Apprentice"; Polino et al. 2018), and the pixels without a label still count once the
float model predicts them.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import tensorflow as tf

from keras_depth.kerasapi import keras
from keras_depth.packed_target import pack_target, unpack_target
from keras_depth.spec import SEMANTICS_CODES, DepthSpec


def prediction_target(output: tf.Tensor, spec: DepthSpec) -> tf.Tensor:
    """A model's raw output as the packed target's map: depth in metres, or disparity for an
    affine-disparity model (``keras_depth.packed_target``)."""
    depth = spec.output_to_depth(tf.cast(output, tf.float32))
    return 1.0 / depth if spec.semantics == "affine_disparity" else depth


class SelfDistillation(keras.Model):
    """Fits ``student`` on ``teacher``'s predictions, masked like each batch's labels (docs/export.md
    compares counting every pixel); validation (``test_step``) still scores the student against the
    labels. Build it while the teacher is frozen (``frozen``): only the student's weights train."""

    def __init__(self, student: keras.Model, teacher: keras.Model, spec: DepthSpec):
        super().__init__(name=f"{student.name}_self_distillation")
        self.student = student
        self.teacher = teacher
        self.spec = spec
        self.code = SEMANTICS_CODES[spec.semantics]

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def train_step(self, data):
        x, y, weight = keras.utils.unpack_x_y_sample_weight(data)
        _, mask, _ = unpack_target(y)
        target = tf.stop_gradient(prediction_target(self.teacher(x, training=False), self.spec))
        y = pack_target(target, mask, tf.fill(tf.shape(mask)[:1], self.code))
        return super().train_step((x, y) if weight is None else (x, y, weight))


@contextlib.contextmanager
def frozen(model: keras.Model) -> Iterator[keras.Model]:
    """``model`` not trainable while inside (its weights are the teacher's, never updated)."""
    before = model.trainable
    model.trainable = False
    try:
        yield model
    finally:
        model.trainable = before
