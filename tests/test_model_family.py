"""The mobile model family (issue 5): presets, QAT/int8 per preset, MAC counter, heads, wrappers."""
from __future__ import annotations

import urllib.error

import numpy as np
import pytest

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras, layers
from keras_depth.models import build_model, preset_names
from keras_depth.models.macs import count_macs
from keras_depth.spec import DepthSpec

PRESETS = [
    "unet_mobilenetv2", "unet_mobilenetv2_100", "unet_mobilenetv3small", "unet_mobilenetv3large",
    "unet_efficientnetlite0", "nnconv5_mobilenetv2", "fusion_mobilenetv3small", "tiny_unet", "tiny_unet_half",
    "demon_pair",
]


def test_all_presets_registered():
    assert set(PRESETS) <= set(preset_names())


def test_count_macs_by_hand():
    x = inp = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same")(x)  # 8*8 * 3*3 * 3 * 4 = 6912
    x = layers.DepthwiseConv2D(3, strides=2, padding="same")(x)  # 4*4 * 3*3 * 4 = 576
    x = layers.Conv2D(6, 1)(x)  # 4*4 * 1 * 4 * 6 = 384
    x = layers.Conv2D(6, 3, padding="same", groups=2)(x)  # 4*4 * 9 * 6 * 6 / 2 = 2592
    x = layers.BatchNormalization()(x)  # not counted
    x = layers.Dense(5)(layers.Flatten()(x))  # 96 * 5 = 480
    assert count_macs(keras.Model(inp, x)) == 6912 + 576 + 384 + 2592 + 480


def test_tiny_is_mcu_class_and_presets_phone_sized():
    assert build_model("tiny_unet", (96, 96, 3)).count_params() < 100_000
    assert build_model("tiny_unet_half", (96, 96, 3)).count_params() < 100_000
    assert build_model("unet_mobilenetv3large", (64, 64, 3)).count_params() < 5_000_000


@pytest.mark.parametrize("encoder", ["mobilenetv2", "mobilenetv3small"])
def test_imagenet_offline_is_a_clear_error(monkeypatch, encoder):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    monkeypatch.setattr(keras.applications, "MobileNetV3Small", offline)
    name = {"mobilenetv2": "unet_mobilenetv2", "mobilenetv3small": "unet_mobilenetv3small"}[encoder]
    with pytest.raises(UsageError, match=r"weights='imagenet' could not be loaded \(URLError.*network access"):
        build_model(name, (64, 64, 3), weights="imagenet")


def test_imagenet_unavailable_encoders_say_so():
    with pytest.raises(UsageError, match="not available"):
        build_model("unet_efficientnetlite0", (64, 64, 3), weights="imagenet")


@pytest.mark.slow  # two MobileNetV3 graphs: 24 s of make test-fast on a loaded 2-core machine
def test_mobilenetv3_rewrite_equals_keras_application():
    """Our tfmot-friendly MobileNetV3 (HardSwish layer, SE gate folds) computes what Keras' does,
    given Keras' weights: so ImageNet weights transfer exactly."""
    from keras_depth.models.mobilenetv3 import copy_reference_weights, mobilenetv3_features

    inp = keras.Input((64, 64, 3))
    ref = keras.applications.MobileNetV3Small(input_tensor=inp, include_top=False, weights=None, include_preprocessing=False)
    rng = np.random.default_rng(0)
    for layer in ref.layers:  # non-trivial BN statistics and SE biases
        if layer.get_weights():
            layer.set_weights([w + rng.normal(0, 0.1, w.shape).astype(np.float32) if w.ndim == 1 else w for w in layer.get_weights()])
    inp2 = keras.Input((64, 64, 3))
    ours = keras.Model(inp2, mobilenetv3_features(inp2, "small")[-1])
    assert copy_reference_weights(ref, ours) == len([l for l in ours.layers if l.get_weights()])
    x = rng.uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)
    want = ref.get_layer("expanded_conv_10/Add").output
    want = keras.Model(inp, want).predict(x, verbose=0)
    got = ours.predict(x, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * np.abs(want).max())


def test_output_stride_2_predicts_at_half_resolution_and_upsamples():
    m = build_model("tiny_unet_half", (64, 64, 3))
    assert m.output_shape == (None, 64, 64, 1)
    assert m.get_layer("depth_half").output_shape == (None, 32, 32, 1)
    assert not [l.name for l in m.layers if l.name.startswith("dec4")]  # no full-resolution decoder stage
    y = m.predict(np.random.default_rng(0).random((1, 64, 64, 3), dtype=np.float32), verbose=0)
    np.testing.assert_array_equal(y[:, ::2, ::2], y[:, 1::2, 1::2])  # nearest x2 of the 1/2 map
    with pytest.raises(UsageError, match="decoder_filters: expected 4 values"):
        build_model("tiny_unet_half", (64, 64, 3), decoder_filters=(8, 8, 8, 8, 8))
    with pytest.raises(UsageError, match="only the 'unet' decoder"):
        build_model("tiny_unet_half", (64, 64, 3), decoder="fusion")


def test_exp_head_stays_in_range():
    spec = DepthSpec(min_depth=0.5, max_depth=8.0)
    # A fixed initialisation: whether scaled logits reach both clips depends on the random kernel,
    # and the global RNG state otherwise depends on which tests ran before in the same process.
    keras.utils.set_random_seed(0)
    m = build_model("tiny_unet", (64, 64, 3), spec=spec, head="exp")
    kernel, bias = m.get_layer("depth_logits").get_weights()
    m.get_layer("depth_logits").set_weights([kernel * 300, bias])  # the bias starts at log(mid-range): keep it
    y = m.predict(np.random.default_rng(1).random((2, 64, 64, 3), dtype=np.float32), verbose=0)
    assert y.min() >= 0.5 - 1e-5 and y.max() <= 8.0 + 1e-4
    assert y.min() < 0.6 and y.max() > 7.0  # the large logits reach both clips


def test_disparity_head_range():
    spec = DepthSpec(kind="disparity", min_depth=0.5, max_depth=8.0)
    y = build_model("tiny_unet", (64, 64, 3), spec=spec).predict(np.zeros((1, 64, 64, 3), np.float32), verbose=0)
    assert 1 / 8.0 - 1e-6 <= y.min() and y.max() <= 1 / 0.5 + 1e-6


def test_default_upsampling_is_nearest():
    # Chosen from benchmarks/bench_upsampling.py (docs/models.md): bilinear costs int8 accuracy and time.
    m = build_model("unet_mobilenetv2", (64, 64, 3))
    assert {l.interpolation for l in m.layers if isinstance(l, layers.UpSampling2D)} == {"nearest"}


# The cheapest build of each preset that keeps its graph (encoder, decoder kind, head, custom layers):
# 32x32 input (the smallest the five 2x downsamplings allow) and 8-wide decoders. Conversion time
# follows the number of layers, not their width, so the encoders keep their shipped widths (the op
# list is the same at any width). Profiled on 2 cores: the conversion was ~90% Keras SavedModel
# serialisation inside the converter, which export.converters.static_converter now avoids.
SLIM = {name: {"decoder_filters": (8, 8, 8, 8, 8)} for name in PRESETS if not name.startswith("tiny_unet")}


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.slow
def test_preset_qat_int8_has_no_float_or_flex_ops(name):
    """QAT applies (quantize_apply succeeds and the QAT model runs); the int8 TFLite runs integer kernels
    only (uint8 IO converted by QUANTIZE at the input and output); no Flex or custom op; op list printed.
    No Keras fit: training changes the ranges, not which ops the converter emits. Every preset, the
    two-image demon_pair included, goes through the exporter's own converter (convert_int8_qat)."""
    from export.int8_ops import int8_problems, list_ops
    from export.qat_convert import convert_int8_qat
    from keras_depth.training.qat import make_qat_model

    model = build_model(name, (32, 32, 3), **SLIM.get(name, {}))
    qat = make_qat_model(model)
    assert any("quant" in type(l).__name__.lower() for l in qat.layers)
    xs = [np.zeros((1, *t.shape[1:]), np.float32) for t in qat.inputs]
    out = qat(xs if len(xs) > 1 else xs[0], training=False)
    assert all(np.all(np.isfinite(np.asarray(o))) for o in (out.values() if isinstance(out, dict) else [out]))
    ops = list_ops(convert_int8_qat(qat))
    keras.backend.clear_session()
    print(f"\n{name}: {len(ops)} ops: " + " ".join(str(o) for o in ops))
    assert not int8_problems(ops), int8_problems(ops)
    names = [o.name for o in ops]
    assert not any(n.startswith("Flex") or n == "CUSTOM" for n in names)
    assert {"CONV_2D", "QUANTIZE"} <= set(names)


def _small_unet():
    x = inp = keras.Input((8, 8, 3), name="image")
    x = layers.Conv2D(4, 3, padding="same", name="c1")(x)
    x = layers.ReLU(name="r1")(x)
    x = layers.Conv2D(1, 1, activation="sigmoid", name="c2")(x)
    return keras.Model(inp, x)


def test_int8_check_catches_a_float_island():
    """The preset test's check is live: a layer kept in float (qat float_layers) leaves a float CONV_2D
    between a DEQUANTIZE and a QUANTIZE, and int8_problems reports it."""
    import tensorflow as tf

    from export.converters import static_converter
    from export.int8_ops import int8_problems, list_ops
    from keras_depth.training.qat import make_qat_model

    c = static_converter(make_qat_model(_small_unet(), float_layers=["c1"]))  # convert_int8_qat's settings
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.inference_input_type = c.inference_output_type = tf.uint8
    ops = list_ops(c.convert())
    keras.backend.clear_session()
    assert any(p.startswith("float op CONV_2D") for p in int8_problems(ops)), [str(o) for o in ops]


def test_int8_problems_flags_flex_custom_and_float_ops():
    from export.int8_ops import OpInfo, int8_problems

    clean = [OpInfo("QUANTIZE", ["float32"], ["uint8"]), OpInfo("CONV_2D", ["int8", "int8", "int32"], ["int8"]),
             OpInfo("QUANTIZE", ["int8"], ["uint8"])]
    assert int8_problems(clean) == []
    for bad in (OpInfo("FlexConv2D", ["int8"], ["int8"]), OpInfo("CUSTOM", ["int8"], ["int8"]),
                OpInfo("ADD", ["float32", "float32"], ["float32"])):
        assert len(int8_problems(clean[:2] + [bad] + clean[2:])) == 1, bad


def test_static_converter_takes_a_two_input_model():
    """export.converters.static_converter on an image-pair model (demon_pair's kind): both inputs static
    [1, h, w, 3] under their Keras names, dict outputs under theirs, and the TFLite output equals Keras'."""
    from export.converters import convert_float32
    from keras_depth.runtime.tflite import load_interpreter

    a, b = keras.Input((8, 8, 3), name="image1"), keras.Input((8, 8, 3), name="image2")
    x = layers.Conv2D(2, 3, padding="same", name="conv")(layers.Concatenate(name="pair")([a, 0.5 * b]))
    model = keras.Model([a, b], {"depth": x, "pooled": layers.GlobalAveragePooling2D(name="pool")(x)})
    it = load_interpreter(convert_float32(model), num_threads=1, delegates=False)
    assert [list(d["shape"]) for d in it.get_input_details()] == [[1, 8, 8, 3]] * 2
    assert it.get_signature_list()["serving_default"] == {"inputs": ["image1", "image2"], "outputs": ["depth", "pooled"]}
    rng = np.random.default_rng(0)
    x1, x2 = rng.random((2, 1, 8, 8, 3), dtype=np.float32)
    runner = it.get_signature_runner()
    got = runner(image1=x1, image2=x2)
    want = model([x1, x2], training=False)
    for k in ("depth", "pooled"):
        np.testing.assert_allclose(got[k], np.asarray(want[k]), atol=1e-5)

    # Full-integer PTQ of the same model (keras-depth models converts demon_pair this way): a
    # representative dataset of input pairs, both inputs static and uint8, output within a few steps.
    from export.ptq import convert_int8_ptq

    pairs = [list(rng.random((2, 1, 8, 8, 3), dtype=np.float32)) for _ in range(8)]
    q = load_interpreter(convert_int8_ptq(model, lambda: iter(pairs)), num_threads=1, delegates=False)
    runner = q.get_signature_runner()
    ins, outs = runner.get_input_details(), runner.get_output_details()
    assert {k: list(d["shape_signature"]) for k, d in ins.items()} == {"image1": [1, 8, 8, 3], "image2": [1, 8, 8, 3]}
    assert all(d["dtype"] == np.uint8 for d in ins.values())

    from keras_depth.runtime.manifest import Quantization

    qin = {k: Quantization(*d["quantization"]) for k, d in ins.items()}
    out = runner(image1=qin["image1"].quantize(x1, "uint8"), image2=qin["image2"].quantize(x2, "uint8"))
    for k in ("depth", "pooled"):
        qout = Quantization(*outs[k]["quantization"])
        ref = np.asarray(want[k])
        # int8 of a float model: within 5% of the output's range plus a couple of output steps.
        assert np.abs(qout.dequantize(out[k]) - ref).max() <= 0.05 * float(np.ptp(ref)) + 2 * qout.scale, k
    keras.backend.clear_session()


def test_models_cli_table_keeps_measured_section(tmp_path):
    """``keras-depth models`` regenerates the table and keeps the section bench_upsampling.py wrote."""
    import argparse

    from export.preset_table import KEPT_SECTION
    from keras_depth.cli import models as cli

    out = tmp_path / "models.md"
    out.write_text("old table\n\n" + KEPT_SECTION + " ... -->\nmeasured figures\n")
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    assert cli.run(p.parse_args(["--quick", "--presets", "tiny_unet", "--out", str(out)])) == 0
    text = out.read_text()
    assert "| `tiny_unet` | 0.013 M |" in text and "old table" not in text
    assert text.endswith(KEPT_SECTION + " ... -->\nmeasured figures\n")
