"""MiDaS losses against a numpy transcription of the logic of the authors' published code
(``compute_scale_and_shift``, ``mse_loss`` / ``gradient_loss`` with batch-based reduction,
``GradientLoss`` over 4 scales with stride-2^k subsampling) and of the paper's Eq. 5-8; plus the
scale-and-shift invariance that is the point of these losses."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_depth.losses import (
    compute_scale_and_shift,
    disparity_inputs,
    get_loss,
    gradient_matching_loss,
    aligned_residual,
    ssi_gm_loss,
    ssi_lstsq_loss,
    ssi_median_loss,
    ssi_trim_loss,
)
from keras_depth.packed_target import pack_target
from keras_depth.spec import AFFINE_DISPARITY, METRIC, RELATIVE

TOL = 1e-5

# ---- reference: the published MiDaS loss logic, per image, in float64 ------------------------


def ref_scale_and_shift(pred, target, mask):
    """The 2x2 normal equations of Eq. 4, solved per image; 0, 0 where singular."""
    s, t = np.zeros(len(pred)), np.zeros(len(pred))
    for b in range(len(pred)):
        p, d, m = pred[b], target[b], mask[b]
        a00, a01, a11 = np.sum(m * p * p), np.sum(m * p), np.sum(m)
        b0, b1 = np.sum(m * p * d), np.sum(m * d)
        det = a00 * a11 - a01 * a01
        if det > 1e-9:
            s[b] = (a11 * b0 - a01 * b1) / det
            t[b] = (-a01 * b0 + a00 * b1) / det
    return s, t


def ref_batch_reduction(image_loss, m):
    return 0.0 if np.sum(m) == 0 else np.sum(image_loss) / np.sum(m)


def ref_mse(pred, target, mask):
    m = np.sum(mask, (1, 2))
    res = pred - target
    return ref_batch_reduction(np.sum(mask * res * res, (1, 2)), 2 * m)


def ref_gradient_single(pred, target, mask):
    m = np.sum(mask, (1, 2))
    diff = mask * (pred - target)
    grad_x = np.abs(diff[:, :, 1:] - diff[:, :, :-1]) * mask[:, :, 1:] * mask[:, :, :-1]
    grad_y = np.abs(diff[:, 1:, :] - diff[:, :-1, :]) * mask[:, 1:, :] * mask[:, :-1, :]
    return ref_batch_reduction(np.sum(grad_x, (1, 2)) + np.sum(grad_y, (1, 2)), m)


def ref_gradient_loss(pred, target, mask, scales=4):
    return sum(
        ref_gradient_single(pred[:, ::2**k, ::2**k], target[:, ::2**k, ::2**k], mask[:, ::2**k, ::2**k])
        for k in range(scales)
    )


def ref_ssi_midas(pred, target, mask, alpha=0.5):
    """ScaleAndShiftInvariantLoss: MSE on the aligned prediction + alpha * GradientLoss."""
    s, t = ref_scale_and_shift(pred, target, mask)
    aligned = s[:, None, None] * pred + t[:, None, None]
    return ref_mse(aligned, target, mask) + alpha * ref_gradient_loss(aligned, target, mask)


def ref_normalize(d, m):
    """Eq. 6-7 on one image: (d - median) / mean|d - median| over valid pixels."""
    v = m > 0.5
    t = np.median(d[v])
    s = np.mean(np.abs(d[v] - t))
    return np.where(v, (d - t) / s, 0.0)


def ref_ssimae(pred, target, mask, trim=0.0):
    """Eq. 5 (trim=0) and Eq. 8: sum of the (kept) |residuals| / (2 * number of valid pixels)."""
    total, count = 0.0, 0.0
    for b in range(len(pred)):
        v = mask[b] > 0.5
        if not v.any():
            continue
        res = np.abs(ref_normalize(pred[b], mask[b]) - ref_normalize(target[b], mask[b]))[v]
        keep = int(np.floor(v.sum() * (1.0 - trim) + 1e-4))
        total += np.sort(res)[:keep].sum()
        count += v.sum()
    return total / (2 * count) if count else 0.0


# ---- data ------------------------------------------------------------------------------------


def _data(seed=0, shape=(3, 12, 10)):
    rng = np.random.default_rng(seed)
    target = rng.uniform(0.1, 2.0, shape)
    pred = 0.7 * target + 0.2 + rng.normal(0, 0.1, shape)
    mask = (rng.uniform(size=shape) > 0.25).astype(np.float64)
    mask[-1, : shape[1] // 2] = 0  # the last image half masked
    return pred, target, mask


def _tf(*arrays):
    return [tf.constant(a[..., None], tf.float32) for a in arrays]


def test_scale_and_shift_matches_normal_equations():
    pred, target, mask = _data(0)
    s, t = compute_scale_and_shift(*_tf(target, pred, mask))
    rs, rt = ref_scale_and_shift(pred, target, mask)
    np.testing.assert_allclose(s.numpy(), rs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(t.numpy(), rt, rtol=1e-4, atol=1e-5)


def test_scale_and_shift_singular_system_gives_zero():
    pred = np.ones((1, 4, 4))  # constant prediction: det = 0
    s, t = compute_scale_and_shift(*_tf(np.random.default_rng(0).uniform(size=(1, 4, 4)), pred, np.ones_like(pred)))
    assert float(s[0]) == 0.0 and float(t[0]) == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ssi_lstsq_matches_midas_mse_term(seed):
    pred, target, mask = _data(seed)
    s, t = ref_scale_and_shift(pred, target, mask)
    want = ref_mse(s[:, None, None] * pred + t[:, None, None], target, mask)
    assert float(ssi_lstsq_loss(*_tf(target, pred, mask))) == pytest.approx(want, rel=TOL, abs=TOL)


@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_matching_matches_midas_gradient_loss(seed):
    pred, target, mask = _data(seed, shape=(2, 17, 19))  # odd sizes exercise the stride-2^k subsampling
    s, t = ref_scale_and_shift(pred, target, mask)
    aligned = s[:, None, None] * pred + t[:, None, None]
    want = ref_gradient_loss(aligned, target, mask)
    target_t, pred_t, mask_t = _tf(target, pred, mask)
    got = float(gradient_matching_loss(aligned_residual(target_t, pred_t, mask_t), mask_t, scales=4))
    assert got == pytest.approx(want, rel=TOL, abs=TOL)


def test_ssi_gm_matches_midas_scale_and_shift_invariant_loss():
    pred, target, mask = _data(3, shape=(2, 16, 16))
    got = float(ssi_gm_loss(*_tf(target, pred, mask)))
    assert got == pytest.approx(ref_ssi_midas(pred, target, mask, alpha=0.5), rel=TOL, abs=TOL)
    got_a0 = float(ssi_gm_loss(*_tf(target, pred, mask), alpha=0.0))
    assert got_a0 == pytest.approx(ref_ssi_midas(pred, target, mask, alpha=0.0), rel=TOL, abs=TOL)


@pytest.mark.parametrize("seed", [0, 1])
def test_ssimae_and_ssitrim_match_paper_equations(seed):
    pred, target, mask = _data(seed)
    t = _tf(target, pred, mask)
    assert float(ssi_median_loss(*t)) == pytest.approx(ref_ssimae(pred, target, mask), rel=TOL, abs=TOL)
    assert float(ssi_trim_loss(*t)) == pytest.approx(ref_ssimae(pred, target, mask, trim=0.2), rel=TOL, abs=TOL)
    assert float(ssi_trim_loss(*t, trim=0.5)) == pytest.approx(ref_ssimae(pred, target, mask, trim=0.5), rel=TOL, abs=TOL)


def test_median_and_trim_gradient_matching_use_the_normalised_residual():
    pred, target, mask = _data(4, shape=(2, 8, 8))
    res = np.stack([ref_normalize(pred[b], mask[b]) - ref_normalize(target[b], mask[b]) for b in range(2)])
    want = ref_ssimae(pred, target, mask) + 0.5 * ref_gradient_loss(res, np.zeros_like(res), mask)
    assert float(ssi_gm_loss(*_tf(target, pred, mask), ssi="median")) == pytest.approx(want, rel=TOL, abs=TOL)


def test_disparity_inputs_convert_by_semantics():
    depth = np.array([[[2.0, 4.0], [0.0, 5.0]]] * 3)
    mask = np.ones_like(depth)
    packed = pack_target(depth[..., None], mask[..., None], np.array([METRIC, RELATIVE, AFFINE_DISPARITY]))
    from keras_depth.packed_target import unpack_target

    d, m, sem = unpack_target(packed)
    target, pred, w = disparity_inputs(d, m, sem, tf.fill([3, 2, 2, 1], 4.0))
    target, w = target.numpy()[..., 0], w.numpy()[..., 0]
    np.testing.assert_allclose(target[0], [[0.5, 0.25], [0.0, 0.2]])
    np.testing.assert_allclose(target[2], depth[2])  # affine disparity as it is, 0 included
    np.testing.assert_array_equal(w[0], [[1, 1], [0, 1]])
    np.testing.assert_array_equal(w[2], [[1, 1], [1, 1]])
    np.testing.assert_allclose(pred.numpy()[0, ..., 0], [[0.25, 0.25], [0.0, 0.25]])
    _, pred_d, _ = disparity_inputs(d, m, sem, tf.fill([3, 2, 2, 1], 4.0), prediction="disparity")
    assert float(pred_d[0, 0, 0, 0]) == 4.0


def test_loss_class_converts_depth_target_and_prediction():
    pred, target, mask = _data(5, shape=(2, 8, 8))
    depth_t, depth_p = 1 / target, 1 / pred.clip(0.05)
    y_true = pack_target(depth_t[..., None], mask[..., None], np.array([METRIC, RELATIVE]))
    got = float(get_loss("ssi_gm")(y_true, tf.constant(depth_p[..., None], tf.float32)))
    assert got == pytest.approx(ref_ssi_midas(1 / depth_p, target, mask), rel=1e-4, abs=TOL)


# ---- invariance ------------------------------------------------------------------------------

SSI_FUNCTIONS = {
    "ssi_lstsq": lambda t, p, m: ssi_lstsq_loss(t, p, m),
    "ssi_median": lambda t, p, m: ssi_median_loss(t, p, m),
    "ssi_trim": lambda t, p, m: ssi_trim_loss(t, p, m),
    "gradient_matching": lambda t, p, m: gradient_matching_loss(aligned_residual(t, p, m), m),
    "ssi_gm": lambda t, p, m: ssi_gm_loss(t, p, m),
}


@settings(max_examples=20, deadline=None)
@given(
    scale=st.floats(0.2, 5.0),
    shift=st.floats(-2.0, 2.0),
    seed=st.integers(0, 2**16),
    name=st.sampled_from(sorted(SSI_FUNCTIONS)),
)
def test_ssi_invariant_to_positive_scale_and_shift_of_prediction(scale, shift, seed, name):
    pred, target, mask = _data(seed, shape=(2, 8, 8))
    fn = SSI_FUNCTIONS[name]
    base = float(fn(*_tf(target, pred, mask)))
    moved = float(fn(*_tf(target, scale * pred + shift, mask)))
    assert moved == pytest.approx(base, rel=2e-3, abs=1e-4)


@pytest.mark.parametrize("name", sorted(SSI_FUNCTIONS))
def test_ssi_zero_for_an_affine_copy_of_the_target(name):
    _, target, mask = _data(6, shape=(2, 8, 8))
    assert abs(float(SSI_FUNCTIONS[name](*_tf(target, 2.5 * target - 0.3, mask)))) < 1e-5
