"""``train.precision``, ``train.jit_compile``, ``train.steps_per_execution`` (keras_depth.training.precision):
the config keys, and the training twin's dtypes, weights and upsampling against the float32 model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_depth.config import load_config
from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras, layers
from keras_depth.models import build_model
from keras_depth.training.precision import (CopyWeights, RepeatUpsampling, needs_twin, precision_policy,
                                            resolve_precision, training_twin)

QUICKSTART = Path(__file__).resolve().parents[1] / "keras_depth" / "configs" / "quickstart.yaml"


def test_precision_defaults_to_float32_and_the_old_bool_means_mixed_float16():
    assert resolve_precision(load_config(QUICKSTART).train) in ("float32", "mixed_bfloat16")
    assert resolve_precision(load_config(None).train) == "float32"
    assert resolve_precision(load_config(None, ["train.mixed_precision=true"]).train) == "mixed_float16"
    assert resolve_precision(load_config(None, ["train.precision=mixed_bfloat16"]).train) == "mixed_bfloat16"
    assert not needs_twin("float32", False) and needs_twin("float32", True) and needs_twin("mixed_bfloat16", False)


@pytest.mark.parametrize("override, key", [
    ("train.precision=bfloat16", "train.precision"),
    ("train.precision=fp16", "train.precision"),
    ("train.steps_per_execution=0", "train.steps_per_execution"),
    ("train.jit_compile=yes please", "train.jit_compile"),
])
def test_bad_speed_keys_are_usage_errors_naming_the_key(override, key):
    with pytest.raises(UsageError, match=key.replace(".", r"\.")):
        load_config(None, [override])


def test_mixed_precision_true_with_another_precision_is_refused():
    with pytest.raises(UsageError, match=r"train\.mixed_precision"):
        load_config(None, ["train.mixed_precision=true", "train.precision=mixed_bfloat16"])


def test_policy_is_float32_again_after_the_block_even_on_error():
    with pytest.raises(RuntimeError):
        with precision_policy():
            keras.mixed_precision.set_global_policy("mixed_bfloat16")
            raise RuntimeError("boom")
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.fixture(scope="module")
def model():
    with precision_policy():
        return build_model("unet_mobilenetv2", (32, 32, 3), output_stride=2, decoder_filters=(16, 16, 8, 8))


def test_bf16_twin_computes_in_bfloat16_with_float32_variables_head_and_output(model):
    with precision_policy():
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        twin = training_twin(model, "mixed_bfloat16", jit_compile=False)
    assert keras.mixed_precision.global_policy().name == "float32"
    convs = [l for l in twin.layers if isinstance(l, layers.Conv2D)]
    assert convs[0].compute_dtype == "bfloat16"
    assert all(v.dtype == tf.float32 for v in twin.weights)
    # the head's logits conv (last trainable layer) and what follows compute in float32
    assert [l.compute_dtype for l in twin.layers[-3:]] == ["float32"] * 3
    assert twin.layers[-3].name == "depth_half_logits"
    assert twin.outputs[0].dtype == tf.float32
    # the float32 model is untouched, and the twin starts from its weights
    assert all(l.compute_dtype == "float32" for l in model.layers)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)
    # bf16 has an 8-bit significand: the same depth to within a few percent
    x = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(twin(x).numpy(), model(x).numpy(), rtol=0.05)


def test_xla_twin_replaces_nearest_upsampling_by_an_equal_repeat(model):
    with precision_policy():
        twin = training_twin(model, "float32", jit_compile=True)
    ups = [l for l in model.layers if isinstance(l, layers.UpSampling2D) and l.interpolation == "nearest"]
    assert ups and not any(isinstance(l, layers.UpSampling2D) for l in twin.layers)
    assert sum(isinstance(l, RepeatUpsampling) for l in twin.layers) == len(ups)
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(RepeatUpsampling((2, 2))(x).numpy(), layers.UpSampling2D(2)(x).numpy())
    y = np.random.default_rng(1).uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(twin(y).numpy(), model(y).numpy(), rtol=1e-5, atol=1e-6)


def test_copy_weights_moves_the_twins_weights_into_the_float32_model(model):
    with precision_policy():
        twin = training_twin(model, "float32", jit_compile=True)
    clone = keras.models.clone_model(model)
    twin.set_weights([w + 1.0 for w in twin.get_weights()])
    cb = CopyWeights(clone)
    cb.set_model(twin)
    cb.on_epoch_end(0)
    for a, b in zip(clone.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_build_fit_model_builds_and_compiles_what_train_fits():
    """train and the training benchmark build through build_fit_model: float32 fits the model itself,
    a precision or XLA setting its twin; both compiled with the config's steps_per_execution and BN
    momentum, and the global policy float32 again after precision_policy."""
    from keras_depth.training.trainer import build_fit_model

    base = ["model.name=tiny_unet_half", "model.params={}", "data.image_size=[32, 32]",
            "train.batchnorm_momentum=0.9", "train.steps_per_execution=3"]
    with precision_policy():
        model, fit = build_fit_model(load_config(None, base), 10)
    assert fit is model and int(fit._steps_per_execution.numpy()) == 3
    assert {l.momentum for l in model.layers if isinstance(l, layers.BatchNormalization)} == {0.9}
    with precision_policy():
        model, fit = build_fit_model(load_config(None, [*base, "train.precision=mixed_bfloat16", "train.jit_compile=true"]), 10)
    conv = [next(l for l in m.layers if isinstance(l, layers.Conv2D)) for m in (model, fit)]
    assert fit is not model and [c.compute_dtype for c in conv] == ["float32", "bfloat16"]
    assert int(fit._steps_per_execution.numpy()) == 3 and keras.mixed_precision.global_policy().name == "float32"
