"""The depth metrics against hand-computed values, and the Keras wrappers against the numpy module."""
from __future__ import annotations

import math

import numpy as np
import pytest

from keras_depth.metrics.depth_metrics import METRIC_NAMES, MetricAccumulator, compute_metrics, per_image_metrics

# gt = [[1, 2], [4, 8]], pred = [[2, 2], [4, 4]]
#   |g-p|/g      = 1, 0, 0, 0.5        -> abs_rel  = 1.5 / 4 = 0.375
#   (g-p)^2/g    = 1, 0, 0, 2          -> sq_rel   = 3 / 4 = 0.75
#   (g-p)^2      = 1, 0, 0, 16         -> rmse     = sqrt(17/4)
#   ln g - ln p  = -ln2, 0, 0, ln2     -> rmse_log = sqrt(2 ln^2 2 / 4) = ln2 / sqrt2
#   |log10 g/p|  = log10 2, 0, 0, log10 2 -> log10 = log10(2) / 2
#   max(g/p,p/g) = 2, 1, 1, 2          -> delta1 = delta2 = delta3 = 2/4 (2 >= 1.25^3 = 1.953)
GT = np.array([[1.0, 2.0], [4.0, 8.0]])
PRED = np.array([[2.0, 2.0], [4.0, 4.0]])
EXPECTED = {
    "abs_rel": 0.375,
    "sq_rel": 0.75,
    "rmse": math.sqrt(17 / 4),
    "rmse_log": math.log(2) / math.sqrt(2),
    "log10": math.log10(2) / 2,
    "delta1": 0.5,
    "delta2": 0.5,
    "delta3": 0.5,
}


def assert_metrics(got: dict, expected: dict, tol: float = 1e-9) -> None:
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, abs=tol), k


def test_hand_computed_2x2():
    m = compute_metrics(GT, PRED)
    assert tuple(k for k in m if k in METRIC_NAMES) == METRIC_NAMES
    assert_metrics(m, EXPECTED)
    assert m["n_images"] == 1 and m["n_skipped"] == 0


def test_shapes_hw_bhw_bhw1_agree():
    a = compute_metrics(GT, PRED)
    b = compute_metrics(GT[None], PRED[None])
    c = compute_metrics(GT[None, ..., None], PRED[None, ..., None])
    assert a == b == c


def test_delta_thresholds_hand_computed():
    # ratios 1.2, 1.5, 1.9, 2.0 against 1.25, 1.5625, 1.953125 -> 1/4, 2/4, 3/4
    m = compute_metrics(np.ones((2, 2)), np.array([[1.2, 1.5], [1.9, 2.0]]))
    assert_metrics(m, {"delta1": 0.25, "delta2": 0.5, "delta3": 0.75})


def test_mask_zero_depth_and_nan_are_excluded():
    gt = np.array([[1.0, 2.0], [0.0, np.nan]])
    pred = np.array([[2.0, 2.0], [100.0, 100.0]])
    # valid: (0,0) |1-2|/1 = 1 and (0,1) 0 -> 0.5
    assert compute_metrics(gt, pred)["abs_rel"] == pytest.approx(0.5)
    # the mask also drops (0,0): only the perfect pixel is left
    m = compute_metrics(gt, pred, np.array([[0.0, 1.0], [1.0, 1.0]]))
    assert_metrics(m, {"abs_rel": 0.0, "rmse": 0.0, "delta1": 1.0})


def test_median_alignment_hand_computed_and_scaled_prediction_is_perfect():
    # median(gt) = (2+4)/2 = 3, median(pred) = (1+2)/2 = 1.5 -> pred * 2 = [[2,2],[4,4]] -> as above
    assert_metrics(compute_metrics(GT, PRED / 2, alignment="median"), EXPECTED)
    m = compute_metrics(GT, 3.7 * GT, alignment="median")
    assert_metrics(m, {"abs_rel": 0.0, "sq_rel": 0.0, "rmse": 0.0, "rmse_log": 0.0, "log10": 0.0, "delta1": 1.0})
    assert compute_metrics(GT, 3.7 * GT)["abs_rel"] == pytest.approx(2.7)


def test_median_alignment_is_per_image():
    gt = np.stack([GT, GT])
    pred = np.stack([2 * GT, 0.5 * GT])
    assert compute_metrics(gt, pred, alignment="median")["abs_rel"] == pytest.approx(0.0)


def test_lstsq_alignments_make_affine_predictions_perfect():
    gt = np.array([[1.0, 2.0], [4.0, 8.0], [3.0, 5.0]])
    m = compute_metrics(gt, 0.5 * gt - 0.2, alignment="lstsq_depth")
    assert m["abs_rel"] == pytest.approx(0.0, abs=1e-9)
    pred_disp = 2.0 / gt + 0.3  # an affine function of the true disparity
    m = compute_metrics(gt, 1.0 / pred_disp, alignment="lstsq_disparity")
    assert m["abs_rel"] == pytest.approx(0.0, abs=1e-9)
    assert compute_metrics(gt, 1.0 / pred_disp)["abs_rel"] > 0.1


def test_lstsq_disparity_floors_aligned_disparity():
    # pred disparities 1, 2, 3, 4 against gt disparities 1, 1, 1, 0.1: the fitted line goes
    # negative at one end; the floor 1/max_depth = 0.1 caps that pixel at depth 10.
    gt = np.array([[1.0, 1.0], [1.0, 10.0]])
    pred = 1.0 / np.array([[1.0, 2.0], [3.0, 4.0]])
    m = compute_metrics(gt, pred, alignment="lstsq_disparity", max_depth=20.0)
    assert all(np.isfinite(m[k]) for k in METRIC_NAMES)


def test_caps_select_gt_range_and_clip_prediction():
    gt = np.array([[0.5, 2.0], [5.0, 20.0]])
    pred = np.array([[1.0, 1.0], [100.0, 20.0]])
    # only gt 2 and 5 are inside (1, 10); pred 100 is clipped to 10:
    # |2-1|/2 = 0.5, |5-10|/5 = 1 -> abs_rel = 0.75
    m = compute_metrics(gt, pred, min_depth=1.0, max_depth=10.0)
    assert m["abs_rel"] == pytest.approx(0.75)


def test_pooled_and_per_image_differ_as_hand_computed():
    gt = np.ones((2, 2, 2))
    pred = np.stack([np.full((2, 2), 2.0), np.ones((2, 2))])
    mask = np.stack([np.ones((2, 2)), np.array([[1.0, 0.0], [0.0, 0.0]])])
    # image 0: 4 pixels with abs_rel 1, rmse 1; image 1: 1 perfect pixel
    per = compute_metrics(gt, pred, mask)
    pooled = compute_metrics(gt, pred, mask, averaging="pooled")
    assert per["abs_rel"] == pytest.approx((1 + 0) / 2)
    assert pooled["abs_rel"] == pytest.approx(4 / 5)
    assert per["rmse"] == pytest.approx((1 + 0) / 2)
    assert pooled["rmse"] == pytest.approx(math.sqrt(4 / 5))
    assert per["delta1"] == pytest.approx(0.5) and pooled["delta1"] == pytest.approx(1 / 5)


def test_images_without_valid_pixels_are_skipped_and_counted():
    gt = np.stack([GT, GT, GT])
    pred = np.stack([PRED, 100 * PRED, PRED])
    mask = np.stack([np.ones((2, 2)), np.zeros((2, 2)), np.ones((2, 2))])
    m = compute_metrics(gt, pred, mask)
    assert_metrics(m, EXPECTED)
    assert m["n_images"] == 2 and m["n_skipped"] == 1
    empty = compute_metrics(gt, pred, np.zeros_like(mask))
    assert empty["n_images"] == 0 and empty["n_skipped"] == 3
    assert all(math.isnan(empty[k]) for k in METRIC_NAMES)


def test_bad_arguments_raise_with_what_was_received():
    with pytest.raises(ValueError, match="alignment.*'mean'"):
        compute_metrics(GT, PRED, alignment="mean")
    with pytest.raises(ValueError, match="averaging"):
        compute_metrics(GT, PRED, averaging="batch")
    with pytest.raises(ValueError, match="pred"):
        compute_metrics(GT, PRED[:1])


def test_accumulator_matches_compute_metrics_over_batches():
    rng = np.random.default_rng(0)
    gt = rng.uniform(0.5, 5, (5, 3, 4))
    pred = gt * rng.uniform(0.7, 1.4, gt.shape)
    mask = (rng.uniform(size=gt.shape) > 0.3).astype(float)
    mask[2] = 0
    acc = MetricAccumulator(alignment="median")
    acc.update(gt[:2], pred[:2], mask[:2])
    acc.update(gt[2:], pred[2:], mask[2:])
    want = compute_metrics(gt, pred, mask, alignment="median")
    got = acc.result()
    assert got["n_images"] == 4 and got["n_skipped"] == 1
    assert_metrics(got, {k: want[k] for k in METRIC_NAMES}, tol=1e-12)
    acc.reset()
    assert acc.result()["n_images"] == 0


# ---- Keras wrappers -------------------------------------------------------------------------


def _batch(seed: int = 1, n: int = 5):
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0.5, 5, (n, 4, 4, 1)).astype(np.float32)
    pred = (gt * rng.uniform(0.6, 1.5, gt.shape)).astype(np.float32)
    mask = (rng.uniform(size=gt.shape) > 0.25).astype(np.float32)
    mask[1] = 0  # one image with no valid pixel
    return gt, pred, mask


def _packed(gt, mask, semantics=0):
    from keras_depth.packed_target import pack_target

    return pack_target(gt, mask, np.full([gt.shape[0]], semantics, np.int32)).numpy()


def depth_metrics(alignment: str = "none") -> list:
    """Every metric of METRIC_NAMES as a Keras metric."""
    from keras_depth.metrics.keras_metrics import METRIC_CLASSES

    return [METRIC_CLASSES[m](alignment=alignment) for m in METRIC_NAMES]


@pytest.mark.parametrize("alignment", ["none", "median"])
def test_keras_metrics_match_numpy_eagerly(alignment):
    gt, pred, mask = _batch()
    y_true = _packed(gt, mask)
    want = compute_metrics(gt, pred, mask, alignment=alignment)
    metrics = depth_metrics(alignment=alignment)
    assert [m.metric for m in metrics] == list(METRIC_NAMES)
    for m in metrics:
        m.update_state(y_true[:3], pred[:3])
        m.update_state(y_true[3:], pred[3:])
        assert float(m.result()) == pytest.approx(want[m.metric], rel=1e-5, abs=1e-6), m.name


def test_keras_metric_config_round_trip_and_reset():
    from keras_depth.metrics.keras_metrics import AbsRel, Delta1, DepthMetric

    m = AbsRel(alignment="median", max_depth=10.0)
    cfg = m.get_config()
    again = AbsRel.from_config(cfg)
    assert (again.name, again.metric, again.alignment, again.max_depth) == ("abs_rel_median", "abs_rel", "median", 10.0)
    assert DepthMetric.from_config(Delta1().get_config()).metric == "delta1"
    gt, pred, mask = _batch()
    m.update_state(_packed(gt, mask), pred)
    m.reset_state()
    assert math.isnan(float(m.result()))


def test_keras_metrics_skip_affine_disparity_samples():
    from keras_depth.metrics.keras_metrics import AbsRel

    gt, pred, mask = _batch()
    m = AbsRel()
    m.update_state(_packed(gt, mask, semantics=2), pred)
    assert math.isnan(float(m.result()))


def test_keras_metrics_inside_compiled_evaluate():
    from keras_depth.kerasapi import keras

    gt, pred, mask = _batch(seed=2, n=5)
    # The model passes channel 0 of its input through, so its prediction is known exactly.
    x = np.concatenate([pred, np.zeros_like(pred), np.zeros_like(pred)], axis=-1)
    inp = keras.Input((4, 4, 3))
    out = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer=keras.initializers.Constant([1.0, 0.0, 0.0]))(inp)
    model = keras.Model(inp, out)
    model.compile(loss="mse", metrics=depth_metrics() + depth_metrics(alignment="median"))
    got = model.evaluate(x, _packed(gt, mask), batch_size=2, verbose=0, return_dict=True)
    for alignment, suffix in (("none", ""), ("median", "_median")):
        want = compute_metrics(gt, pred, mask, alignment=alignment)
        for name in METRIC_NAMES:
            assert got[name + suffix] == pytest.approx(want[name], rel=1e-5, abs=1e-6), name + suffix


def test_per_image_metrics_rows():
    values, evaluated = per_image_metrics(np.stack([GT, GT]), np.stack([PRED, PRED]), np.stack([np.ones((2, 2)), np.zeros((2, 2))]))
    assert evaluated.tolist() == [True, False]
    np.testing.assert_allclose(values[0], [EXPECTED[k] for k in METRIC_NAMES])
    assert np.isnan(values[1]).all()
