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
