"""Output encodings (depth, disparity, log_depth): decoding against hand-computed values, the head of
each, the losses reading each, and the quantized output range (export.output_range) worked by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from keras_depth.errors import UsageError
from keras_depth.spec import DepthSpec, decode_output

LN = math.log


def test_log_depth_decodes_by_hand():
    lo, hi = LN(0.25), LN(10.0)
    y = np.array([LN(2.0), 0.0, 5.0, -3.0], np.float32)  # 2 m, 1 m, beyond hi, below lo
    np.testing.assert_allclose(decode_output("log_depth", (lo, hi), y), [2.0, 1.0, 10.0, 0.25], rtol=1e-6)
    import tensorflow as tf

    np.testing.assert_allclose(decode_output("log_depth", (lo, hi), tf.constant(y)).numpy(), [2.0, 1.0, 10.0, 0.25], rtol=1e-6)
    spec = DepthSpec(kind="log_depth", min_depth=0.25, max_depth=10.0)
    assert spec.output_range == pytest.approx((-1.3862944, 2.3025851))
    np.testing.assert_allclose(spec.output_to_depth(y), [2.0, 1.0, 10.0, 0.25], rtol=1e-6)


def test_each_kind_decodes_by_hand():
    y = np.array([0.05, 0.5, 2.0, 8.0], np.float32)
    np.testing.assert_array_equal(decode_output("depth", (0.25, 10.0), y), y)  # linear: the output itself
    np.testing.assert_allclose(decode_output("disparity", (0.1, 4.0), y), [10.0, 2.0, 0.5, 0.25], rtol=1e-6)
    with pytest.raises(UsageError, match="log_depth"):
        decode_output("inverse", (0.1, 4.0), y)


def test_manifest_carries_log_depth_with_a_negative_range():
    from keras_depth.runtime.manifest import InputSpec, Manifest, OutputSpec

    m = Manifest("m.tflite", "float32", InputSpec(8, 8), OutputSpec(8, 8, kind="log_depth", range=[LN(0.25), LN(10.0)]))
    again = Manifest.from_json(m.to_json())
    assert again.output.kind == "log_depth" and again.output.range[0] < 0
    bad = Manifest("m.tflite", "float32", InputSpec(8, 8), OutputSpec(8, 8, kind="depth", range=[-1.0, 2.0]))
    with pytest.raises(UsageError, match="0 < lo < hi"):
        Manifest.from_json(bad.to_json())
    with pytest.raises(UsageError, match="lo < hi"):
        Manifest.from_json(Manifest("m.tflite", "float32", InputSpec(8, 8),
                                    OutputSpec(8, 8, kind="log_depth", range=[2.0, -1.0])).to_json())


def test_log_depth_head_starts_at_the_geometric_middle_and_spans_the_log_range():
    from keras_depth.kerasapi import keras, layers
    from keras_depth.models.blocks import depth_head

    spec = DepthSpec(kind="log_depth", min_depth=0.25, max_depth=10.0)
    inp = keras.Input((4, 4, 3))
    model = keras.Model(inp, depth_head(layers.Lambda(lambda t: 0.0 * t)(inp), spec))
    out = model(np.ones((1, 4, 4, 3), np.float32)).numpy()
    np.testing.assert_allclose(np.exp(out), math.sqrt(0.25 * 10.0), rtol=1e-5)  # 1.58 m
    affine = model.get_layer("depth")
    w, b = affine.get_weights()
    assert float(w.ravel()[0]) == pytest.approx(LN(40.0)) and float(b[0]) == pytest.approx(LN(0.25))
    with pytest.raises(ValueError, match="log_depth"):
        depth_head(inp, spec, parameterisation="exp")


def test_losses_and_metrics_read_a_log_depth_output():
    from keras_depth.losses.depth_losses import L1Loss, to_depth
    from keras_depth.losses.ssi import disparity_inputs
    from keras_depth.packed_target import pack_target

    depth = np.array([[[[0.5], [2.0]], [[4.0], [8.0]]]], np.float32)
    y_true = pack_target(depth, np.ones_like(depth), np.zeros((1,), np.int32))
    log_pred = np.log(depth)
    np.testing.assert_allclose(to_depth(log_pred, "log_depth").numpy(), depth, rtol=1e-6)
    assert float(L1Loss(prediction="log_depth")(y_true, log_pred)) == pytest.approx(0.0, abs=1e-6)
    _, pred_disp, _ = disparity_inputs(depth, np.ones_like(depth), np.zeros((1,), np.int32), log_pred, "log_depth")
    np.testing.assert_allclose(pred_disp.numpy(), 1.0 / depth, rtol=1e-6)


def test_pinned_quantization_by_hand():
    from export.output_range import depth_step, levels_report, nudged_quantization
    from keras_depth.spec import pinned_range

    # depth 0.25-10 m: TFLite keeps 0 on a level, so [0, 10]: 10/255 m a level, zero point 0 (uint8).
    assert pinned_range((0.25, 10.0)) == (0.0, 10.0)
    scale, zp = nudged_quantization(0.0, 10.0, "uint8")
    assert scale == pytest.approx(10 / 255) and zp == 0
    # log depth ln 0.25 .. ln 10 holds 0: ln 40 / 255 a level; zero point round(1.386 / 0.014466) = 96.
    scale, zp = nudged_quantization(LN(0.25), LN(10.0), "uint8")
    assert scale == pytest.approx(LN(40.0) / 255) and zp == 96
    assert depth_step("log_depth", scale, 1.0) == pytest.approx(0.014466, rel=1e-4)  # 1.45 cm at 1 m
    assert depth_step("disparity", 4.0 / 255, 2.0) == pytest.approx(4 * 4.0 / 255)
    # int16 (16x8) is symmetric: [-10, 10] over +-32767.
    assert nudged_quantization(0.0, 10.0, "int16") == (pytest.approx(10 / 32767), 0)
    # The quickstart's QAT output before the fix (issue 17): 126 of 256 levels on negative depths.
    rep = levels_report(0.046, 126, "uint8", (0.25, 10.0))
    assert rep["levels_outside"] >= 126 and rep["covered"][0] == pytest.approx(-5.796)
    pinned = levels_report(10 / 255, 0, "uint8", (0.25, 10.0))
    assert pinned["levels_outside"] == 6 and pinned["clipped_above"] == 0.0  # 0..0.235 m: lo / step = 6.4
