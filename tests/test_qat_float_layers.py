"""QAT with ``qat.float_layers``: the named conv runs as a float CONV_2D in the int8_qat file.

The TF 2.21 converter quantizes a float layer of a fake-quant graph anyway, so the conversion goes
through selective PTQ of the QAT-fine-tuned weights (``export.qat_convert.convert_selective_qat``;
docs/export.md, "Selective quantization"). Tiny model, 32x32 input, one short QAT epoch.
"""
from __future__ import annotations

import numpy as np
import pytest

from keras_depth.kerasapi import keras
from keras_depth.runtime.tflite import load_interpreter
from keras_depth.spec import DepthSpec

SPEC = DepthSpec(min_depth=0.001, max_depth=1.0)


def conv_bn_relu_model(hw=(32, 32)) -> keras.Model:
    keras.utils.set_random_seed(3)
    L = keras.layers
    x = inp = keras.Input((*hw, 3), batch_size=1, name="image")
    for n in "abc":
        x = L.Conv2D(8, 3, padding="same", use_bias=False, name=f"conv_{n}")(x)
        x = L.BatchNormalization(name=f"bn_{n}")(x)
        x = L.ReLU(6.0, name=f"relu_{n}")(x)
    x = L.Conv2D(1, 1, name="conv_d")(x)
    x = L.Activation("sigmoid", name="out")(x)
    return keras.Model(inp, x, name="toy")


@pytest.fixture(scope="module")
def qat_float_conv_b():
    from keras_depth.training.qat import make_qat_model

    rng = np.random.default_rng(0)
    xs = rng.random((16, 32, 32, 3), dtype=np.float32)
    ys = xs.mean(-1, keepdims=True)  # a learnable target, so QAT moves the weights and ranges
    model = conv_bn_relu_model()
    qat = make_qat_model(model, ["conv_b"])
    qat.compile(keras.optimizers.Adam(1e-3), "mse")
    qat.fit(xs, ys, epochs=1, batch_size=4, verbose=0)
    return model, qat, xs


def conv_dtypes(blob: bytes) -> dict[str, tuple[str, str]]:
    """{Keras conv name: (input dtype, filter dtype)} for every CONV_2D, from the interpreter's op list."""
    it = load_interpreter(blob, num_threads=1, delegates=False)
    t = {d["index"]: d for d in it.get_tensor_details()}
    found = {}
    for op in it._get_ops_details():
        if op["op_name"] != "CONV_2D":
            continue
        out_name = t[op["outputs"][0]]["name"]
        conv = next(n for n in ("conv_a", "conv_b", "conv_c", "conv_d") if f"/{n}/" in out_name or f"quant_{n}/" in out_name)
        found[conv] = tuple(np.dtype(t[i]["dtype"]).name for i in op["inputs"][:2])
    return found


def test_float_layers_take_their_fused_bn_and_activation(qat_float_conv_b):
    from keras_depth.training.qat import float_layers_of, fused_float_layers

    model, qat, _ = qat_float_conv_b
    assert fused_float_layers(model, ["conv_b"]) == {"conv_b", "bn_b", "relu_b"}
    assert sorted(float_layers_of(qat)) == ["bn_b", "conv_b", "relu_b"]


def test_named_conv_is_float_conv2d_in_int8_qat(qat_float_conv_b):
    from export.model_manifest import build_manifest
    from export.parity import check_parity
    from export.qat_convert import convert_int8_qat

    model, qat, xs = qat_float_conv_b
    blob = convert_int8_qat(qat, "uint8", model, lambda: (x[None] for x in xs))
    convs = conv_dtypes(blob)
    assert convs == {"conv_a": ("int8", "int8"), "conv_b": ("float32", "float32"),
                     "conv_c": ("int8", "int8"), "conv_d": ("int8", "int8")}, convs
    m = build_manifest("toy_qat.tflite", blob, "int8_qat", SPEC)
    assert m.input.dtype == "uint8" and m.output.dtype == "uint8"
    # Against the QAT Keras model itself, at int8_qat's documented tolerance (max 10%, mean 1% of range).
    parity = check_parity(qat, blob, xs[:8], "int8_qat", SPEC, m)
    assert parity["ok"], parity


def test_without_float_layers_conversion_is_unchanged():
    from export.qat_convert import convert_int8_qat
    from keras_depth.training.qat import float_layers_of, make_qat_model

    qat = make_qat_model(conv_bn_relu_model())
    assert float_layers_of(qat) == []
    assert set(conv_dtypes(convert_int8_qat(qat, "uint8")).values()) == {("int8", "int8")}


@pytest.mark.parametrize("freeze", [True, False])
def test_frozen_batchnorm_keeps_the_float_statistics_and_the_model_saves(freeze, tmp_path):
    """qat.freeze_batchnorm (issue 17): the BN layers inside tfmot's wrappers keep the float model's
    moving statistics through QAT fine-tuning, as they do when they normalise with them; unfrozen, fit
    overwrites them. Frozen, gamma and beta do not train either (tfmot's wrapper lists them as its own
    trainable weights, so the wrapper is frozen too); unfrozen, Adam moves them. Afterwards the
    QAT model saves to HDF5 and reloads with the same output (a frozen BN inside the wrapper, left
    frozen, made h5py refuse a duplicated weight name)."""
    from keras_depth.models.io import load_qat_model
    from keras_depth.training.qat import frozen_batchnorm, make_qat_model, save_qat_run
    from keras_depth.kerasapi import tfmot

    rng = np.random.default_rng(1)
    # Inputs far from the initial statistics (mean 0, variance 1): a training-mode BN moves its moving
    # mean toward the batch means.
    xs = (3.0 + rng.random((16, 32, 32, 3))).astype(np.float32)
    ys = xs.mean(-1, keepdims=True) / 4.0
    model = conv_bn_relu_model()
    qat = make_qat_model(model)
    wrapper = tfmot().quantization.keras.QuantizeWrapper
    inner = [l.layer if isinstance(l, wrapper) else l for l in qat.layers]
    bns = [l for l in inner if isinstance(l, keras.layers.BatchNormalization)]
    assert sorted(l.name for l in bns) == ["bn_a", "bn_b", "bn_c"]
    before = {l.name: (l.moving_mean.numpy().copy(), l.moving_variance.numpy().copy()) for l in bns}
    affine = {l.name: (l.gamma.numpy().copy(), l.beta.numpy().copy()) for l in bns}
    with frozen_batchnorm(qat, freeze) as frozen:
        assert len(frozen) == (3 if freeze else 0) and all(not l.trainable for l in frozen)
        qat.compile(keras.optimizers.Adam(1e-2), "mse")
        qat.fit(xs, ys, epochs=1, batch_size=4, verbose=0)
    for layer in bns:
        mean, var = before[layer.name]
        same = np.array_equal(layer.moving_mean.numpy(), mean) and np.array_equal(layer.moving_variance.numpy(), var)
        assert same == freeze, layer.name
        gamma, beta = affine[layer.name]
        assert (np.array_equal(layer.gamma.numpy(), gamma) and np.array_equal(layer.beta.numpy(), beta)) == freeze
        assert layer.trainable
    path = save_qat_run(qat, {"loss": [0.0]}, tmp_path)
    again = load_qat_model(path)
    np.testing.assert_allclose(again(xs[:2], training=False).numpy(), qat(xs[:2], training=False).numpy(), atol=1e-6)
