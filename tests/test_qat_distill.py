"""QAT as self-distillation (``qat.target: float_model``, keras_depth/training/qat_distill.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from keras_depth.kerasapi import keras
from keras_depth.packed_target import pack_target
from keras_depth.spec import DepthSpec


@pytest.mark.parametrize("kind,semantics,output,expected", [
    ("depth", "metric", 2.0, 2.0),             # depth is the output
    ("disparity", "relative", 0.5, 2.0),       # 1 / 0.5 m^-1
    ("log_depth", "metric", math.log(2.0), 2.0),
    ("disparity", "affine_disparity", 0.5, 0.5),  # an affine-disparity target stays disparity
    ("depth", "metric", 20.0, 20.0),          # a depth head is bounded by its sigmoid, not here
    ("disparity", "relative", 10.0, 0.25),    # clipped to the range first: 1 / min(10, 1/0.25)
])
def test_prediction_target_is_the_packed_targets_map(kind, semantics, output, expected):
    from keras_depth.training.qat_distill import prediction_target

    spec = DepthSpec(kind=kind, semantics=semantics, min_depth=0.25, max_depth=10.0)
    got = prediction_target(np.full((1, 2, 2, 1), output, np.float32), spec).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def _constant_depth_model(name: str, depth: float) -> keras.Model:
    """out = kernel . rgb + bias: with a zero kernel, ``depth`` everywhere."""
    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(1, 1, name=f"{name}_conv", kernel_initializer="zeros",
                            bias_initializer=keras.initializers.Constant(depth))(x)
    return keras.Model(x, y, name=name)


def test_the_student_learns_the_teacher_not_the_labels_and_validates_on_the_labels():
    """Labels say 5 m on the left half (the rest unlabelled), the frozen teacher says 2 m everywhere:
    self-distillation pulls the student (starting at 1 m) to 2 m, where training on the labels would
    pull it to 5 m; evaluate() still scores it against the labels (|ln 2 - ln 5| over the labelled
    pixels); the teacher's weights do not move and it is trainable again afterwards."""
    from keras_depth.losses import build_loss
    from keras_depth.training.qat_distill import SelfDistillation, frozen

    spec = DepthSpec(kind="depth", semantics="metric", min_depth=0.25, max_depth=10.0)
    teacher, student = _constant_depth_model("teacher", 2.0), _constant_depth_model("student", 1.0)
    rng = np.random.default_rng(0)
    x = rng.random((16, 8, 8, 3)).astype(np.float32)
    mask = np.zeros((16, 8, 8, 1), np.float32)
    mask[:, :, :4] = 1.0
    y = pack_target(np.full_like(mask, 5.0), mask, np.zeros(16, np.int32)).numpy()  # 0: metric
    teacher_before = [w.copy() for w in teacher.get_weights()]
    with frozen(teacher):
        wrapper = SelfDistillation(student, teacher, spec)
        wrapper.compile(keras.optimizers.Adam(0.05), loss=build_loss([{"name": "log_l1"}]))
        wrapper.fit(x, y, batch_size=4, epochs=15, verbose=0)
    assert teacher.trainable
    for got, want in zip(teacher.get_weights(), teacher_before):
        np.testing.assert_array_equal(got, want)
    pred = student.predict(x, verbose=0)
    # L1 in log space steps by sign, so Adam leaves a +-10 % ripple around the teacher; labels are 150 % off
    assert abs(float(np.mean(pred)) / 2.0 - 1.0) < 0.05 and np.all(np.abs(pred / 2.0 - 1.0) < 0.2)
    loss = wrapper.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(loss, abs(math.log(np.mean(pred[mask > 0]) / 5.0)), rtol=0.02)


def test_qat_target_defaults_to_the_float_model_and_a_bad_one_names_the_key():
    from keras_depth.config import load_config
    from keras_depth.errors import UsageError

    assert load_config(None).qat.target == "float_model"
    assert load_config(None, ["qat.target=labels"]).qat.target == "labels"
    with pytest.raises(UsageError, match=r"qat\.target.*float_model, labels.*'teacher'"):
        load_config(None, ["qat.target=teacher"])
