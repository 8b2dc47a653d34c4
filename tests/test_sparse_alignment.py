"""Sparse-point metric alignment (keras_depth/alignment.py): robust fits recover known scale and
shift through outliers, degenerate input is refused with a reason, and the fits follow the paper's
least squares and the stated inlier rule."""
from __future__ import annotations

import numpy as np
import pytest

from keras_depth.alignment import (INLIER_TAU, align_to_points, depth_residuals, fit_depth_scale, fit_disparity_scale_shift,
                                   lcg_pairs, sample_points)
from keras_depth.errors import UsageError


def _scene(n: int, seed: int, outlier_frac: float):
    """A predicted disparity map, n points on it with their true metric depth under
    ``1 / depth = 0.5 * pred + 0.1``, 1 % multiplicative noise, and a fraction of outliers whose depth
    is off by a factor of 2-4 either way."""
    rng = np.random.default_rng(seed)
    pred = rng.uniform(0.2, 3.0, size=(40, 60)).astype(np.float32)
    xs, ys = rng.integers(0, 60, n), rng.integers(0, 40, n)
    depth = 1.0 / (0.5 * pred[ys, xs].astype(np.float64) + 0.1)
    depth *= 1 + 0.01 * rng.standard_normal(n)
    out = rng.permutation(n)[: int(round(outlier_frac * n))]
    depth[out] *= rng.uniform(2, 4, len(out)) ** rng.choice([-1, 1], len(out))
    return pred, np.stack([xs, ys, depth], axis=1), out


@pytest.mark.parametrize("n", [20, 100])  # all pairs (n <= 30) and LCG-drawn pairs
def test_ransac_recovers_scale_and_shift_with_30_percent_outliers(n):
    pred, points, outliers = _scene(n, seed=n, outlier_frac=0.3)
    fit = align_to_points(pred, points, "affine_disparity")
    assert fit.space == "disparity"
    assert fit.scale == pytest.approx(0.5, rel=0.03)
    assert fit.shift == pytest.approx(0.1, abs=0.02)
    assert fit.inliers == n - len(outliers)
    # Plain least squares over all points is pulled far off by the same outliers.
    at, depth = sample_points(pred, points)
    a = np.stack([at, np.ones_like(at)], 1)
    s_ls, _ = np.linalg.lstsq(a, 1 / depth, rcond=None)[0]
    assert abs(s_ls - 0.5) > 3 * abs(fit.scale - 0.5)


def test_ransac_exact_inliers_give_the_least_squares_line():
    # Four points exactly on 1/z = 2 d + 0.5 and one far off: the answer is that line, to rounding.
    pred = np.zeros((3, 5), np.float32)
    d = np.array([0.1, 0.2, 0.4, 0.8, 0.3], np.float32)
    pred[0, :5] = d
    depth = 1 / (2 * d.astype(np.float64) + 0.5)
    depth[4] *= 3
    fit = align_to_points(pred, [[i, 0, z] for i, z in enumerate(depth)], "affine_disparity")
    assert (fit.scale, fit.shift, fit.inliers) == (pytest.approx(2.0, rel=1e-6), pytest.approx(0.5, rel=1e-6), 4)
    np.testing.assert_allclose(fit.apply(d[:4]), depth[:4], rtol=1e-5)


def test_depth_scale_is_the_geometric_mean_of_inlier_ratios():
    # Ratios 2.0, 2.1, 1.9, 2.05 and an outlier 9: median 2.05, inliers within 20 % are the first four.
    pred = np.ones((1, 5), np.float32)
    depth = np.array([2.0, 2.1, 1.9, 2.05, 9.0])
    fit = align_to_points(pred, [[i, 0, z] for i, z in enumerate(depth)], "relative")
    assert fit.inliers == 4 and fit.shift == 0.0
    assert fit.scale == pytest.approx(float(np.prod(depth[:4]) ** 0.25), rel=1e-12)


def test_depth_scale_without_inliers_is_the_median():
    # Two points with ratios 1 and 3: the median 2 has no ratio within 20 %, so it is the answer.
    fit = fit_depth_scale(np.array([1.0, 1.0]), np.array([1.0, 3.0]))
    assert (fit.scale, fit.inliers) == (2.0, 0)


def test_depth_scale_with_30_percent_outliers():
    rng = np.random.default_rng(3)
    pred = rng.uniform(0.5, 5, (30, 30)).astype(np.float32)
    xs, ys = rng.integers(0, 30, 50), rng.integers(0, 30, 50)
    depth = 1.7 * pred[ys, xs] * (1 + 0.02 * rng.standard_normal(50))
    depth[:15] *= 3
    assert fit_depth_scale(pred[ys, xs].astype(np.float64), depth).scale == pytest.approx(1.7, rel=0.02)


def test_one_point_fits_scale_only():
    pred = np.full((4, 4), 0.25, np.float32)
    fit = align_to_points(pred, [[1, 2, 2.0]], "affine_disparity")
    assert (fit.scale, fit.shift) == (pytest.approx(2.0), 0.0)  # 2.0 * 0.25 = 1 / 2 m
    assert align_to_points(pred, [[1, 2, 2.0]], "metric").scale == pytest.approx(8.0)


@pytest.mark.parametrize("points,semantics,message", [
    ([], "metric", "no points given (N = 0)"),
    ([[1, 1, 2.0], [2, 2, 2.0], [3, 1, 2.0]], "affine_disparity", "all 3 points lie at one depth"),
    ([[1, 1, 2.0], [7, 1, 3.0]], "metric", "point 1 at (7, 1) lies outside the 6x4 image"),
    ([[1, -1, 2.0]], "relative", "point 0 at (1, -1) lies outside"),
    ([[1, 1, float("nan")]], "metric", "point 0 has depth nan"),
    ([[1, 1, 0.0]], "metric", "point 0 has depth 0"),
    ([[1, 1, 2.0]], "stereo", "unknown semantics"),
])
def test_degenerate_input_is_refused_with_a_reason(points, semantics, message):
    pred = np.arange(24, dtype=np.float32).reshape(4, 6) + 1
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        align_to_points(pred, points, semantics)


def test_constant_prediction_is_degenerate_for_scale_and_shift():
    with pytest.raises(UsageError, match="prediction is the same at all 2 points"):
        fit_disparity_scale_shift(np.array([0.5, 0.5]), np.array([1.0, 2.0]))
    with pytest.raises(UsageError, match="no finite positive depth"):
        fit_depth_scale(np.array([np.nan, -1.0]), np.array([1.0, 2.0]))


def test_lcg_pairs():
    assert lcg_pairs(3) == [(0, 1), (0, 2), (1, 2)]
    pairs = lcg_pairs(100, 50)
    # Numerical Recipes' LCG from seed 12345, index = (state >> 8) mod n, by hand for the first pair.
    s1 = (1664525 * 12345 + 1013904223) % 2**32
    s2 = (1664525 * s1 + 1013904223) % 2**32
    assert pairs[0] == ((s1 >> 8) % 100, (s2 >> 8) % 100)
    assert len(pairs) == 50 and all(i != j and 0 <= i < 100 and 0 <= j < 100 for i, j in pairs)


def test_inlier_rule_is_relative_depth_error():
    # A point predicted 19 % too deep is an inlier, one 25 % too deep is not (tau = 0.2).
    assert INLIER_TAU == 0.2
    x = np.array([0.5, 0.5, 0.5, -0.1])
    depth = np.array([2.0, 2 / 1.19, 2 / 1.25, 5.0])  # predicted 2 m by 1/(x + 0); the last: negative disparity
    r = depth_residuals(1.0, 0.0, x, depth)
    np.testing.assert_allclose(r[:3], [0.0, 0.19, 0.25])
    assert np.isinf(r[3])
    assert list(r <= INLIER_TAU) == [True, True, False, False]


def _frame():
    from keras_depth.evaluation.real_frames import RealFrame

    y, x = np.mgrid[0:30, 0:40]
    depth = (1.0 + 0.05 * x + 0.03 * y).astype(np.float32)
    depth[:3] = 0  # invalid rows
    return RealFrame("toy", "f0", np.zeros((30, 40, 3), np.uint8), depth, 10.0)


def test_sparse_evaluation_recovers_the_scale_of_a_scaled_prediction():
    from keras_depth.evaluation.sparse_alignment import ORACLE, RAW, SparseProtocol, frame_rows

    frame = _frame()
    pred = np.where(frame.depth > 0, frame.depth / 3, 1.0).astype(np.float32)
    clean = SparseProtocol(counts=(1, 10), noise=0.0, outlier_fraction=0.0, trials=3)
    rows = {r["n"]: r for r in frame_rows("m", pred, frame, clean, "relative", np.random.default_rng(0))}
    assert rows[RAW]["abs_rel"] == pytest.approx(2 / 3, rel=1e-5)  # |d/3 - d| / d
    assert rows[RAW]["delta1"] == 0.0
    for n in (ORACLE, 1, 10):
        assert rows[n]["abs_rel"] == pytest.approx(0.0, abs=1e-5) and rows[n]["delta1"] == 1.0
    # An affine-disparity prediction (its predictor's depth is 1 / (disparity)) is aligned in
    # disparity: 1/depth = 2 * disp + 0.1 is recovered from 10 noiseless points.
    disp = np.where(frame.depth > 0, (1 / np.maximum(frame.depth, 1e-3) - 0.1) / 2, 1.0)
    rows = {r["n"]: r for r in frame_rows("m", (1 / disp).astype(np.float32), frame, clean, "affine_disparity",
                                          np.random.default_rng(0))}
    assert rows[10]["abs_rel"] == pytest.approx(0.0, abs=1e-4)


def test_sparse_sampling_noise_and_outliers():
    from keras_depth.evaluation.sparse_alignment import sample_points

    frame = _frame()
    valid = frame.depth > 0
    rng = np.random.default_rng(1)
    pts = sample_points(frame.depth, valid, 2000 if valid.sum() >= 2000 else int(valid.sum()), rng, 0.05, 0.10)
    gt = frame.depth[pts[:, 1].astype(int), pts[:, 0].astype(int)]
    assert (gt > 0).all() and len(np.unique(pts[:, :2], axis=0)) == len(pts)  # distinct valid pixels
    ratio = pts[:, 2] / gt
    outlier = np.abs(np.log(ratio)) > np.log(1.4)
    assert outlier.mean() == pytest.approx(0.10, abs=0.03)
    assert np.std(ratio[~outlier] - 1) == pytest.approx(0.05, rel=0.15)


def test_gt_sparse_points_sample_valid_pixels_in_metres(tmp_path):
    import cv2

    from keras_depth.ar.placement import gt_sparse_points

    rng = np.random.default_rng(0)
    maps = [rng.integers(500, 4000, (12, 16)).astype(np.uint16) for _ in range(3)]
    for m in maps:
        m[:, :4] = 0  # invalid
    for i, m in enumerate(maps):
        cv2.imwrite(str(tmp_path / f"d{i}.png"), m)
    points, hw = gt_sparse_points(tmp_path, 5, max_frames=2)
    assert hw == (12, 16) and sorted(points) == [0, 1]
    for i, pts in points.items():
        assert len(pts) == 5 and len({(p.x, p.y) for p in pts}) == 5
        for p in pts:
            assert p.x >= 4 and p.depth == pytest.approx(maps[i][int(p.y), int(p.x)] / 1000.0)
    with pytest.raises(Exception, match="fewer than --sparse-from-gt 200"):
        gt_sparse_points(tmp_path / "d0.png", 200)


def test_scene_pipeline_fits_by_semantics():
    from types import SimpleNamespace

    from keras_depth.ar.placement import MetricPoint
    from keras_depth.ar.pipeline import ScenePipeline

    def pipeline(semantics):
        out = SimpleNamespace(semantics=semantics, height=8, width=8)
        return ScenePipeline(SimpleNamespace(manifest=SimpleNamespace(output=out)))

    true = np.linspace(1, 4, 64, dtype=np.float32).reshape(8, 8)
    refs = [MetricPoint(x, y, float(true[y, x])) for x, y in [(0, 0), (3, 1), (5, 5), (7, 7), (2, 6)]]
    refs.append(MetricPoint(4, 4, 9 * float(true[4, 4])))  # an outlier
    # A relative depth model predicting half the depth: a scale of 2 in depth = 0.5 in disparity.
    a = pipeline("relative").fit(true / 2, 2 / true, refs)
    assert (a.scale, a.shift) == (pytest.approx(0.5), 0.0)
    # An affine-disparity model predicting (1/depth - 0.1) / 3: scale 3, shift 0.1 in disparity.
    disp = (1 / true - 0.1) / 3
    a = pipeline("affine_disparity").fit(1 / disp, disp, refs)
    assert a.scale == pytest.approx(3, rel=1e-4) and a.shift == pytest.approx(0.1, abs=1e-5)
