"""The integer exports quantize the depth output over exactly the spec's output range (issue 17), and
the two added variants (int16x8, int8_float_out) have the tensor types they claim.

Before: PTQ took the range the calibration images reached (the quickstart clipped at 5.6 m) and QAT
kept tfmot's initial [-6, 6] (scale 0.046, zero point 126). The tiny model here outputs 0.7-2.6 m on
its calibration images, so an unpinned PTQ output would end near 2.6 m."""
from __future__ import annotations

import math

import numpy as np
import pytest

from keras_depth.spec import DepthSpec


def _model(spec: DepthSpec, seed: int = 0, upsample: bool = False):
    """conv-relu -> depth head; with ``upsample``, the quickstart's layout: a half-resolution head and a
    nearest x2 upsampling named ``depth`` (which tfmot gives a range of its own)."""
    from keras_depth.kerasapi import keras, layers
    from keras_depth.models.blocks import depth_head

    keras.utils.set_random_seed(seed)
    inp = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inp)
    if not upsample:
        return keras.Model(inp, depth_head(x, spec))
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="down")(x)
    return keras.Model(inp, layers.UpSampling2D(2, name="depth")(depth_head(x, spec, name="depth_half")))


def _calib(n: int = 8) -> list[np.ndarray]:
    return [np.random.default_rng(i).uniform(0, 1, (1, 16, 16, 3)).astype(np.float32) for i in range(n)]


def _out_quant(blob: bytes):
    from export.output_range import output_tensor_quantization

    return output_tensor_quantization(blob)


def _covers(blob: bytes, lo: float, hi: float) -> None:
    """The output's levels run from min(lo, 0) to hi, each end within one step."""
    from export.output_range import LEVELS, covered_range

    dtype, scale, zp = _out_quant(blob)
    first, last = covered_range(scale, zp, dtype)
    assert abs(first - min(lo, 0.0)) <= scale and abs(last - hi) <= scale, (dtype, scale, zp, first, last)
    assert scale <= (hi - min(lo, 0.0)) / (LEVELS[dtype][1] - LEVELS[dtype][0]) * 1.01


@pytest.mark.parametrize("kind", ["depth", "log_depth"])
def test_ptq_output_spans_the_spec_range(kind):
    from export.ptq import convert_int8_ptq

    spec = DepthSpec(kind=kind, min_depth=0.25, max_depth=10.0)
    # depth: the quickstart's layout, where the output is a nearest upsampling of the head (RESIZE_NEAREST
    # takes its input's scale, so the head's tensor must be pinned too); log_depth: the head is the output
    model, calib = _model(spec, upsample=kind == "depth"), _calib()
    lo, hi = spec.output_range
    ys = np.concatenate([model(c).numpy() for c in calib])
    assert ys.max() < hi - 0.2 * (hi - lo)  # calibration alone would end the range well below hi
    _covers(convert_int8_ptq(model, lambda: iter(calib), "uint8", output_range=(lo, hi)), lo, hi)
    if kind == "depth":  # the cause: unpinned, the output ends where calibration ended
        dtype, scale, zp = _out_quant(convert_int8_ptq(model, lambda: iter(calib), "uint8"))
        assert scale * (255 - zp) < ys.max() + 2 * scale


def test_qat_output_spans_the_spec_range():
    from export.qat_convert import convert_int8_qat
    from keras_depth.training.qat import make_qat_model, output_head_layers

    spec = DepthSpec(kind="depth", min_depth=0.25, max_depth=10.0)
    model = _model(spec, upsample=True)
    assert output_head_layers(model) == ["depth", "depth_half"]
    lo, hi = spec.output_range
    _covers(convert_int8_qat(make_qat_model(model, output_range=(lo, hi)), "uint8"), lo, hi)
    # the cause: tfmot's moving-average range starts at [-6, 6]; unpinned and untrained it stays there
    dtype, scale, zp = _out_quant(convert_int8_qat(make_qat_model(model), "uint8"))
    assert scale * (0 - zp) < -5.0 and zp > 100


def test_int16x8_runs_int16_activations_and_int8_weights():
    from export.int8_ops import list_ops
    from export.model_manifest import build_manifest
    from export.ptq import convert_int8_ptq
    from keras_depth.runtime.tflite import TFLiteDepthEstimator

    spec = DepthSpec(kind="depth", min_depth=0.25, max_depth=10.0)
    model, calib = _model(spec, upsample=True), _calib()
    blob = convert_int8_ptq(model, lambda: iter(calib), "float32", output_range=spec.output_range, activations="int16")
    ops = list_ops(blob)
    convs = [op for op in ops if op.name == "CONV_2D"]
    assert convs and all(op.inputs == ["int16", "int8", "int64"] and op.outputs == ["int16"] for op in convs), convs
    assert ops[0].name == "QUANTIZE" and ops[-1].name == "DEQUANTIZE"  # float32 interface
    assert {o for op in ops if op.name not in ("QUANTIZE", "DEQUANTIZE") for o in op.outputs} == {"int16"}
    dtype, scale, zp = _out_quant(blob)
    assert dtype == "int16" and zp == 0 and scale == pytest.approx(10.0 / 32767, rel=1e-3)
    manifest = build_manifest("m.tflite", blob, "int16x8", spec)
    assert manifest.input.dtype == manifest.output.dtype == "float32"
    est = TFLiteDepthEstimator(blob, manifest=manifest)
    x = calib[0]
    got = est.run_tensor(est.preprocess(np.round(x[0] * 255).astype(np.uint8)))
    want = model(np.round(x * 255) / 255).numpy()[0, ..., 0]
    assert np.abs(got - want).max() < 0.01 * (10 - 0.25)


def test_int8_float_out_dequantizes_inside_the_graph():
    from export.int8_ops import list_ops
    from export.ptq import convert_int8_ptq

    spec = DepthSpec(kind="log_depth", min_depth=0.25, max_depth=10.0)
    model, calib = _model(spec, upsample=True), _calib()
    blob = convert_int8_ptq(model, lambda: iter(calib), "uint8", output_range=spec.output_range, output_dtype="float32")
    ops = list_ops(blob)
    assert ops[-1].name == "DEQUANTIZE" and ops[-1].outputs == ["float32"]
    assert all(op.inputs[0] in ("int8", "uint8") for op in ops if op.name == "CONV_2D")
    lo, hi = spec.output_range
    _covers(blob, lo, hi)
    assert math.exp(hi) == pytest.approx(10.0)


def test_qat_ranges_start_from_calibration():
    """tfmot starts each activation range at [-6, 6]; calibrate_qat_ranges sets it to the float layer's
    [min(0, min), max(0, max)] on the images (a ReLU output: [0, its max])."""
    from keras_depth.training.qat import make_qat_model
    from keras_depth.training.qat_ranges import calibrate_qat_ranges, range_variables

    spec = DepthSpec(kind="depth", min_depth=0.25, max_depth=10.0)
    model = _model(spec, upsample=True)
    qat = make_qat_model(model, output_range=spec.output_range)
    before = range_variables(qat)
    assert "conv" in before and float(before["conv"]["min"].numpy().min()) == -6.0
    images = np.concatenate(_calib(4))
    ranges = calibrate_qat_ranges(qat, model, images)
    conv_out = model.get_layer("conv").output
    from keras_depth.kerasapi import keras

    want = keras.Model(model.inputs, conv_out)(images).numpy()
    assert ranges["conv"] == pytest.approx((0.0, float(want.max())), rel=1e-5)
    v = range_variables(qat)["conv"]
    assert float(v["min"].numpy().min()) == 0.0 and float(v["max"].numpy().max()) == pytest.approx(float(want.max()), rel=1e-5)
    assert "depth" not in ranges and "depth_half" not in ranges  # the pinned head has no moving range
