"""Export parity: every variant of a tiny U-Net against its Keras model, within PARITY_TOLERANCE.

One session fixture converts all variants once of the ``tiny_unet`` preset (the same blocks as the
shipped U-Net: separable decoder, skips, nearest upsampling, sigmoid depth head) at 64x64, because
a MobileNetV2 encoder makes each conversion 20-60 s on shared cores; the quickstart checks parity of
the real model. The interface-dtype and selective-quantization tests use a 4-layer toy model.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from export.convert import PARITY_TOLERANCE, VARIANTS, export_variants
from export.manifest import read_manifest
from export.metadata import read_embedded_manifest
from export.op_report import op_report
from export.runtime import TFLiteDepthEstimator, load_interpreter
from keras_depth.config import load_config
from keras_depth.kerasapi import keras

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "keras_depth" / "configs" / "quickstart_local.yaml"


def tiny_config(out: Path, *overrides: str):
    return load_config(LOCAL, [f"output_dir={out}", "export.representative_samples=8", "export.parity_samples=4",
                               f"data.cache_dir={REPO / 'runs' / 'cache'}", *overrides])


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    from export.qat import make_qat_model
    from keras_depth.models import build_model_from_config

    out = tmp_path_factory.mktemp("export")
    config = tiny_config(out, "model.name=tiny_unet", "model.params={}")
    keras.utils.set_random_seed(0)
    model = build_model_from_config(config.model, config.data.image_size)
    qat = make_qat_model(model)
    results = export_variants(config, model, qat, out, VARIANTS, log=lambda s: None)
    return config, model, qat, {r.variant: r for r in results}


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_within_documented_tolerance(exported, variant):
    _, _, _, res = exported
    r = res[variant]
    tol = PARITY_TOLERANCE[variant]
    assert r.parity["ok"], r.parity
    assert r.parity["max_frac"] <= tol["max_abs"] and r.parity["mean_frac"] <= tol["mean_abs"]
    m = read_manifest(r.path)
    assert m.variant == variant and m.metrics["parity"]["ok"]
    assert (m.input.height, m.input.width) == (64, 64) and (m.output.height, m.output.width) == (64, 64)


def test_interfaces_and_static_shapes(exported):
    _, _, _, res = exported
    want = {"float32": "float32", "float16": "float32", "int8_dynamic": "float32", "int8_ptq": "uint8", "int8_qat": "uint8"}
    for v, dtype in want.items():
        it = load_interpreter(res[v].path, num_threads=1)
        i, o = it.get_input_details()[0], it.get_output_details()[0]
        assert np.dtype(i["dtype"]).name == dtype == res[v].manifest.input.dtype, v
        assert np.dtype(o["dtype"]).name == dtype == res[v].manifest.output.dtype, v
        assert list(i["shape"]) == [1, 64, 64, 3] and list(i["shape_signature"]) == [1, 64, 64, 3], v
        assert list(o["shape"]) == [1, 64, 64, 1], v


def test_embedded_manifest_equals_json(exported):
    _, _, _, res = exported
    for v in VARIANTS[1:]:
        path = res[v].path
        assert read_embedded_manifest(path) == read_manifest(path), v
        assert json.loads(path.with_suffix(".json").read_text())["training_config_sha256"] == exported[0].sha256()


def test_op_report_coverage(exported):
    _, _, _, res = exported
    assert op_report(res["float32"].path)["int8_coverage"] == 0.0
    for v in ("int8_ptq", "int8_qat"):
        rep = res[v].ops
        assert rep["int8_coverage"] == 1.0, rep["float_ops"]
        assert rep["gpu_unsupported"] == {}, rep["warnings"]
        assert res[v].manifest.metrics["ops"]["int8_coverage"] == 1.0
    assert (res["float32"].path.parent / "export_report.json").is_file()


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
    from export.convert import build_manifest, check_parity, convert_int8_ptq
    from keras_depth.spec import DepthSpec

    model, calib = toy_model(), toy_calib()
    spec = DepthSpec(min_depth=0.001, max_depth=1.0)
    blob = convert_int8_ptq(model, lambda: (c[None] for c in calib), io_dtype)
    m = build_manifest("toy.tflite", blob, "int8_ptq", spec)
    assert m.input.dtype == io_dtype and m.output.dtype == io_dtype
    assert (m.input.quantization is None) == (io_dtype == "float32")
    assert check_parity(model, blob, calib[:4], "int8_ptq", spec, m)["ok"]
    assert op_report(blob)["int8_coverage"] == 1.0


def test_selective_ptq_keeps_named_layer_in_float():
    from export.convert import build_manifest, check_parity, convert_int8_ptq
    from export.quant_debug import rank_layers
    from keras_depth.spec import DepthSpec

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
