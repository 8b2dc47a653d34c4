"""Export parity: every variant of a small trained U-Net against its Keras model.

One session fixture trains the ``tiny_unet`` preset (the same blocks as the shipped U-Net: separable
decoder, skips, nearest upsampling, sigmoid depth head) at 64x64 for a few epochs on the synthetic
scenes, fine-tunes its QAT twin for a few more, and converts every variant once; a MobileNetV2
encoder would make each conversion far slower, and the quickstart checks parity of the real model.
Training alone does not make the test meaningful: an untrained head outputs nearly one depth
everywhere, which any conversion reproduces, and how far a short training spreads the output depends on
the CPU's kernels (one AVX-512 machine's model spanned 9.5 uint8 steps where the premise asks for 10).
So the fixture trains long enough that the model is not collapsed (its head's logits spread with a
standard deviation of about 0.09 here), then ``spread_head`` puts a floor under that spread: logits with
a standard deviation below ``HEAD_LOGIT_STD_FLOOR`` are stretched about their mean, and a mean outside
+-``HEAD_LOGIT_MEAN_LIMIT`` (a saturated sigmoid) is moved inside. On a model that trained normally
both are no-ops; on any CPU the premise then holds by construction, with the trained weights below the
head unchanged. The interface-dtype and selective-quantization tests use a 4-layer toy model.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from export.op_report import op_report
from export.parity import PARITY_TOLERANCE
from export.variant_names import VARIANTS
from export.variants import export_variants
from keras_depth.config import load_config
from keras_depth.kerasapi import keras
from keras_depth.runtime.manifest import read_embedded_manifest, read_manifest
from keras_depth.runtime.tflite import TFLiteDepthEstimator, load_interpreter
from keras_depth.spec import DepthSpec

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "keras_depth" / "configs" / "quickstart_local.yaml"
TRAIN_EPOCHS, QAT_EPOCHS, LEARNING_RATE = 40, 2, 3e-3  # of the 48 training scenes, batch 8
# Logits of standard deviation 0.08 about a mean within +-2.5 (where the sigmoid's slope is at least
# 0.07) give the output a standard deviation of at least 0.0056 of the range, 1.4 uint8 steps, over
# 196,608 pixels: a max - min of many times that, where the premise asks for 10 steps.
HEAD_LOGIT_STD_FLOOR, HEAD_LOGIT_MEAN_LIMIT = 0.08, 2.5
# Parity of each exported file against the Keras model it came from, stated here from what each
# conversion may change (fractions of the output range, 9.75 m for the 0.25-10 m head; max / mean
# absolute error over every pixel of held-out images):
#  - saved_model, float32: the same float32 graph; reordered sums change the last bits only.
#  - float16: weights rounded to 11 significant bits: under a centimetre at worst.
#  - int8_qat: the same fake-quant ranges as the QAT Keras model, so only rounding at requantization
#    differs: a few uint8 output steps (1 step = 1/255 of the range) at worst, under one on average.
#  - int8_dynamic, int8_ptq: quantized weights (and for PTQ activations, with ranges calibrated on
#    other images than these) against the float model: a few output steps at worst, two on average.
INDEPENDENT_TOLERANCE = {
    "saved_model": (1e-5, 1e-6),
    "float32": (1e-4, 1e-5),
    "float16": (1e-3, 1e-4),
    "int8_dynamic": (8 / 255, 2 / 255),
    "int8_qat": (8 / 255, 1 / 255),
    "int8_ptq": (8 / 255, 2 / 255),
    "int8_float_out": (8 / 255, 2 / 255),
    "int16x8": (8 / 255, 1 / 255),
}


def tiny_config(out: Path, cache: Path, *overrides: str):
    return load_config(LOCAL, [f"output_dir={out}", "export.representative_samples=8", "export.parity_samples=4",
                               f"data.cache_dir={cache}", *overrides])


def split_arrays(config, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images float [N, 64, 64, 3] in [0, 1], depth [N, 64, 64, 1] in metres) of a split, unaugmented."""
    from keras_depth.data.pipeline import make_dataset

    pairs = [(x.numpy()[0], y.numpy()[0, ..., :1]) for x, y in make_dataset(config, split, batch_size=1, training=False, repeat=False)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def spread_head(model, xs: np.ndarray) -> tuple[float, float, float]:
    """Give the sigmoid head's conv (``*_logits``, ``blocks.depth_head``) logits over ``xs`` a standard
    deviation of at least ``HEAD_LOGIT_STD_FLOOR`` and a mean within +-``HEAD_LOGIT_MEAN_LIMIT``, by
    the affine map z -> m' + k (z - m) folded into its kernel and bias. Returns (mean, std) before and
    the stretch k; the logits are computed from the layer's input features."""
    import tensorflow as tf

    [head] = [l for l in model.layers if l.name.endswith("_logits")]
    features = keras.Model(model.input, head.input).predict(xs, verbose=0)
    kernel, bias = head.get_weights()

    def logits(kernel, bias):
        return tf.nn.conv2d(features, kernel, 1, "SAME").numpy() + bias

    z = logits(kernel, bias)
    mean, sd = float(z.mean()), float(z.std())
    assert sd > 1e-6, f"the head's logits are constant ({mean}) over the training images: nothing to stretch"
    k = max(1.0, HEAD_LOGIT_STD_FLOOR / sd)
    centre = float(np.clip(mean, -HEAD_LOGIT_MEAN_LIMIT, HEAD_LOGIT_MEAN_LIMIT))
    head.set_weights([kernel * k, bias * k + centre - k * mean])
    z2 = logits(*head.get_weights())
    assert z2.std() >= HEAD_LOGIT_STD_FLOOR * 0.999 and abs(z2.mean()) <= HEAD_LOGIT_MEAN_LIMIT + 1e-3, (z2.mean(), z2.std())
    return mean, sd, k


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    from keras_depth.models import build_model_from_config
    from keras_depth.training.qat import make_qat_model
    from keras_depth.training.qat_ranges import calibrate_qat_ranges

    out = tmp_path_factory.mktemp("export")
    config = tiny_config(out, tmp_path_factory.mktemp("cache"), "model.name=tiny_unet", "model.params={}")
    xs, ys = split_arrays(config, "train")
    keras.utils.set_random_seed(0)
    model = build_model_from_config(config.model, config.data.image_size)
    model.compile(keras.optimizers.Adam(LEARNING_RATE), "mae")
    model.fit(xs, ys, batch_size=8, epochs=TRAIN_EPOCHS, verbose=0)
    spread_head(model, xs)
    # as run_qat makes it: the output range pinned, every fake-quant range calibrated on the float model's
    # activations before fine-tuning (left at tfmot's initial [-6, 6], one int8 step of the head's logits
    # moves the output by 3 uint8 steps, and the max error reached 0.9 of the tolerance on one CPU)
    qat = make_qat_model(model, output_range=DepthSpec.from_dict(config.model.spec).output_range)
    calibrate_qat_ranges(qat, model, xs)
    qat.compile(keras.optimizers.Adam(1e-3), "mae")
    qat.fit(xs, ys, batch_size=8, epochs=QAT_EPOCHS, verbose=0)
    results = export_variants(config, model, qat, out, VARIANTS, log=lambda s: None)
    return config, model, qat, {r.variant: r for r in results}


@pytest.fixture(scope="session")
def held_out(exported):
    """uint8 RGB [N, 64, 64, 3] of the validation split: images neither trained on nor calibrated with."""
    xs, _ = split_arrays(exported[0], "val")
    return np.round(xs * 255).astype(np.uint8)


def _exported_output(variant: str, path: Path, images: np.ndarray) -> np.ndarray:
    """The raw output [N, h, w] of the file on disk, fed as a phone feeds it (through its manifest)."""
    if variant == "saved_model":
        import tensorflow as tf

        fn = tf.saved_model.load(str(path)).signatures["serving_default"]
        return np.stack([fn(image=tf.constant(img[None] / 255.0, tf.float32))["depth"].numpy()[0, ..., 0] for img in images])
    est = TFLiteDepthEstimator(path)
    return np.stack([est.run_tensor(est.preprocess(img)) for img in images])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.slow
def test_variant_matches_its_keras_model(exported, held_out, variant):
    config, model, qat, res = exported
    r = res[variant]
    reference = qat if variant == "int8_qat" else model
    want = reference.predict(held_out.astype(np.float32) / 255.0, verbose=0)[..., 0]
    lo, hi = DepthSpec.from_dict(config.model.spec).output_range  # 0.25-10 m
    # The premise: spread_head guarantees it for the float model, from which QAT fine-tunes for 2 epochs.
    steps = (want.max() - want.min()) / ((hi - lo) / 255)
    assert steps > 10, f"the trained model's depths span {steps:.1f} uint8 output steps: too flat to test parity"
    err = np.abs(_exported_output(variant, r.path, held_out) - want) / (hi - lo)
    max_tol, mean_tol = INDEPENDENT_TOLERANCE[variant]
    assert err.max() <= max_tol and err.mean() <= mean_tol, (variant, err.max(), err.mean())
    # the export's own check agrees, and is recorded in the manifest
    tol = PARITY_TOLERANCE[variant]
    assert r.parity["ok"], r.parity
    assert r.parity["max_frac"] <= tol["max_abs"] and r.parity["mean_frac"] <= tol["mean_abs"], r.parity
    m = read_manifest(r.path)
    assert m.variant == variant and m.metrics["parity"]["ok"]
    assert (m.input.height, m.input.width) == (64, 64) and (m.output.height, m.output.width) == (64, 64)


@pytest.mark.slow
def test_interfaces_and_static_shapes(exported):
    _, _, _, res = exported
    want = {"float32": ("float32",) * 2, "float16": ("float32",) * 2, "int8_dynamic": ("float32",) * 2,
            "int8_ptq": ("uint8",) * 2, "int8_qat": ("uint8",) * 2, "int16x8": ("float32",) * 2,
            "int8_float_out": ("uint8", "float32")}
    for v, (din, dout) in want.items():
        it = load_interpreter(res[v].path, num_threads=1)
        i, o = it.get_input_details()[0], it.get_output_details()[0]
        assert np.dtype(i["dtype"]).name == din == res[v].manifest.input.dtype, v
        assert np.dtype(o["dtype"]).name == dout == res[v].manifest.output.dtype, v
        assert list(i["shape"]) == [1, 64, 64, 3] and list(i["shape_signature"]) == [1, 64, 64, 3], v
        assert list(o["shape"]) == [1, 64, 64, 1], v


@pytest.mark.slow
def test_embedded_manifest_equals_json(exported):
    _, _, _, res = exported
    for v in VARIANTS[1:]:
        path = res[v].path
        assert read_embedded_manifest(path) == read_manifest(path), v
        assert json.loads(path.with_suffix(".json").read_text())["training_config_sha256"] == exported[0].sha256()


@pytest.mark.slow
def test_op_report_coverage(exported):
    _, _, _, res = exported
    assert op_report(res["float32"].path)["int8_coverage"] == 0.0
    for v in ("int8_ptq", "int8_qat"):
        rep = res[v].ops
        assert rep["int8_coverage"] == 1.0, rep["float_ops"]
        assert rep["gpu_unsupported"] == {}, rep["warnings"]
        assert res[v].manifest.metrics["ops"]["int8_coverage"] == 1.0
    assert (res["float32"].path.parent / "export_report.json").is_file()


@pytest.mark.slow
def test_saved_model_has_manifest_inside(exported):
    _, _, _, res = exported
    path = res["saved_model"].path
    assert (path / "saved_model.pb").is_file()
    assert read_manifest(path).variant == "saved_model"


# ---- toy model: interface dtypes, selective quantization, layer ranking (cheap conversions) ----

def toy_model(hw=(16, 16)):
    keras.utils.set_random_seed(1)
    L = keras.layers
    x = inp = keras.Input((*hw, 3), batch_size=1, name="image")
    x = L.Conv2D(8, 3, padding="same", name="conv_a")(x)
    x = L.ReLU(6.0, name="relu_a")(x)
    x = L.DepthwiseConv2D(3, padding="same", name="dw_b")(x)
    x = L.Conv2D(1, 1, name="conv_c")(x)
    x = L.Activation("sigmoid", name="out")(x)
    return keras.Model(inp, x, name="toy")


def toy_calib(n=8, hw=(16, 16)):
    return np.random.default_rng(0).random((n, *hw, 3), dtype=np.float32)


@pytest.mark.parametrize("io_dtype", ["int8", "float32"])
def test_full_int8_interface_dtypes(io_dtype):
    from export.model_manifest import build_manifest
    from export.parity import check_parity
    from export.ptq import convert_int8_ptq

    model, calib = toy_model(), toy_calib()
    spec = DepthSpec(min_depth=0.001, max_depth=1.0)
    blob = convert_int8_ptq(model, lambda: (c[None] for c in calib), io_dtype)
    m = build_manifest("toy.tflite", blob, "int8_ptq", spec)
    assert m.input.dtype == io_dtype and m.output.dtype == io_dtype
    assert (m.input.quantization is None) == (io_dtype == "float32")
    assert check_parity(model, blob, calib[:4], "int8_ptq", spec, m)["ok"]
    assert op_report(blob)["int8_coverage"] == 1.0


def test_selective_ptq_keeps_named_layer_in_float():
    from export.model_manifest import build_manifest
    from export.parity import check_parity
    from export.ptq import convert_int8_ptq
    from export.quant_debug import rank_layers

    model, calib = toy_model(), toy_calib()
    ranking = rank_layers(model, calib, limit=4)
    assert ranking and all(np.isfinite(r["rmse/scale"]) for r in ranking)
    assert {"conv_a", "conv_c"} <= {l for r in ranking for l in r["layers"]}
    blob = convert_int8_ptq(model, lambda: (c[None] for c in calib), "uint8", float_layers=["conv_c"])
    rep = op_report(blob)
    assert 0 < rep["int8_coverage"] < 1 and any(op.startswith("CONV_2D") for op in rep["float_ops"]), rep
    m = build_manifest("toy.tflite", blob, "int8_ptq", DepthSpec(min_depth=0.001, max_depth=1.0))
    assert m.input.dtype == "uint8" and m.output.dtype == "uint8"
    assert check_parity(model, blob, calib[:4], "int8_ptq", DepthSpec(min_depth=0.001, max_depth=1.0), m)["ok"]
