"""Monodepth's stereo loss: the 1-D bilinear sampler, SSIM and the full loss against numpy
references written from Godard et al. 2017 (and their ``bilinear_sampler_1d_h``); the Keras wrapper."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from keras_depth.kerasapi import keras
from keras_depth.losses import (
    StereoLoss,
    bilinear_sampler_1d_h,
    pack_stereo_target,
    ssim_dissimilarity,
    stereo_loss,
)

TOL = 1e-5


# ---- numpy references ------------------------------------------------------------------------


def ref_sample(img, offset, mode="edge"):
    """out[b,y,x] = bilinear img[b,y,x + offset*W] along the row; edge clamps the coordinate,
    border pads one zero pixel each side (Monodepth's two wrap modes)."""
    b_, h_, w_, _ = img.shape
    e = 1 if mode == "border" else 0
    src = np.pad(img, [(0, 0), (0, 0), (e, e), (0, 0)]) if e else img
    out = np.zeros_like(img)
    for b in range(b_):
        for y in range(h_):
            for x in range(w_):
                xs = min(max(x + offset[b, y, x] * w_ + e, 0.0), w_ - 1 + 2 * e)
                x0 = int(np.floor(xs))
                x1 = min(x0 + 1, w_ - 1 + 2 * e)
                out[b, y, x] = (x0 + 1 - xs) * src[b, y, x0] + (xs - x0) * src[b, y, x1]
    return out


def ref_ssim(x, y):
    """clip((1 - SSIM)/2, 0, 1) over 3x3 windows (means of the window, C1 = 0.01^2, C2 = 0.03^2)."""
    c1, c2 = 0.01**2, 0.03**2
    b_, h_, w_, c_ = x.shape
    out = np.zeros((b_, h_ - 2, w_ - 2, c_))
    for i in range(h_ - 2):
        for j in range(w_ - 2):
            wx, wy = x[:, i : i + 3, j : j + 3], y[:, i : i + 3, j : j + 3]
            mx, my = wx.mean((1, 2)), wy.mean((1, 2))
            sx = (wx**2).mean((1, 2)) - mx**2
            sy = (wy**2).mean((1, 2)) - my**2
            sxy = (wx * wy).mean((1, 2)) - mx * my
            ssim = (2 * mx * my + c1) * (2 * sxy + c2) / ((mx**2 + my**2 + c1) * (sx + sy + c2))
            out[:, i, j] = np.clip((1 - ssim) / 2, 0, 1)
    return out


def ref_mean(x, m):
    return np.sum(x * m) / max(np.sum(m) * x.shape[-1], 1e-6)


def ref_min3(m):
    """1 where the whole 3x3 window (the SSIM support) is valid."""
    b_, h_, w_, c_ = m.shape
    out = np.zeros((b_, h_ - 2, w_ - 2, c_))
    for i in range(h_ - 2):
        for j in range(w_ - 2):
            out[:, i, j] = m[:, i : i + 3, j : j + 3].min((1, 2))
    return out


def ref_block_mean(x, f):
    b_, h_, w_, c_ = x.shape
    return x.reshape(b_, h_ // f, f, w_ // f, f, c_).mean((2, 4))


def ref_stereo(left, right, dls, drs, ml, mr, alpha=0.85, ws=0.1, wlr=1.0):
    """Godard et al. 2017, Eq. 1-3 and 7, summed over scales and both views."""
    app = smooth = lr = 0.0
    for s, (dl, dr) in enumerate(zip(dls, drs)):
        f = left.shape[1] // dl.shape[1]
        il, ir, mls, mrs = (ref_block_mean(a, f) for a in (left, right, ml, mr))
        left_est = ref_sample(ir, -dl[..., 0])
        right_est = ref_sample(il, dr[..., 0])
        for img, est, m in ((il, left_est, mls), (ir, right_est, mrs)):
            app += alpha * ref_mean(ref_ssim(est, img), ref_min3(m)) + (1 - alpha) * ref_mean(np.abs(est - img), m)
        for d, img, m in ((dl, il, mls), (dr, ir, mrs)):
            wx = np.exp(-np.mean(np.abs(img[:, :, :-1] - img[:, :, 1:]), 3, keepdims=True))
            wy = np.exp(-np.mean(np.abs(img[:, :-1] - img[:, 1:]), 3, keepdims=True))
            sx = ref_mean(np.abs(d[:, :, :-1] - d[:, :, 1:]) * wx, m[:, :, :-1] * m[:, :, 1:])
            sy = ref_mean(np.abs(d[:, :-1] - d[:, 1:]) * wy, m[:, :-1] * m[:, 1:])
            smooth += (sx + sy) / 2**s
        lr += ref_mean(np.abs(ref_sample(dr, -dl[..., 0]) - dl), mls)
        lr += ref_mean(np.abs(ref_sample(dl, dr[..., 0]) - dr), mrs)
    return {"total": app + ws * smooth + wlr * lr, "appearance": app, "smoothness": smooth, "lr": lr}


# ---- the sampler -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["edge", "border"])
def test_sampler_matches_reference(mode):
    rng = np.random.default_rng(0)
    img = rng.uniform(size=(2, 3, 9, 2))
    offset = rng.uniform(-0.4, 0.4, (2, 3, 9))
    got = bilinear_sampler_1d_h(img, offset, wrap_mode=mode).numpy()
    np.testing.assert_allclose(got, ref_sample(img, offset, mode), atol=TOL)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_integer_disparity_shifts_like_roll_in_the_interior(k):
    rng = np.random.default_rng(1)
    w = 10
    img = rng.uniform(size=(1, 4, w, 3)).astype(np.float32)
    out = bilinear_sampler_1d_h(img, np.full((1, 4, w, 1), k / w, np.float32)).numpy()
    np.testing.assert_allclose(out[:, :, : w - k], np.roll(img, -k, axis=2)[:, :, : w - k], atol=TOL)
    # edge mode repeats the border pixel where the source falls outside the image
    np.testing.assert_allclose(out[:, :, w - k :], np.repeat(img[:, :, -1:], k, axis=2), atol=TOL)
    back = bilinear_sampler_1d_h(img, np.full((1, 4, w, 1), -k / w, np.float32)).numpy()
    np.testing.assert_allclose(back[:, :, k:], np.roll(img, k, axis=2)[:, :, k:], atol=TOL)


def test_sampler_gradient_wrt_disparity_is_finite_and_nonzero():
    rng = np.random.default_rng(2)
    img = tf.constant(rng.uniform(size=(1, 3, 8, 1)), tf.float32)
    disp = tf.Variable(np.full((1, 3, 8, 1), 0.13, np.float32))
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(bilinear_sampler_1d_h(img, disp) * tf.constant(rng.uniform(size=(1, 3, 8, 1)), tf.float32))
    g = tape.gradient(out, disp).numpy()
    assert np.all(np.isfinite(g)) and np.abs(g).sum() > 0
    # d out / d offset = (pix_r - pix_l) * W at an interior pixel
    x = 2 + 0.13 * 8
    x0 = int(np.floor(x))
    with tf.GradientTape() as tape:
        one = bilinear_sampler_1d_h(img, disp)[0, 0, 2, 0]
    g1 = tape.gradient(one, disp).numpy()[0, 0, 2, 0]
    assert g1 == pytest.approx((img.numpy()[0, 0, x0 + 1, 0] - img.numpy()[0, 0, x0, 0]) * 8, rel=1e-4)


def test_ssim_matches_reference():
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(2, 6, 7, 3))
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    np.testing.assert_allclose(ssim_dissimilarity(tf.constant(x, tf.float32), tf.constant(y, tf.float32)).numpy(), ref_ssim(x, y), atol=TOL)


# ---- the loss --------------------------------------------------------------------------------


def _scene(seed=4, h=8, w=8, b=2):
    rng = np.random.default_rng(seed)
    left = rng.uniform(size=(b, h, w, 3))
    right = np.clip(np.roll(left, -1, axis=2) + rng.normal(0, 0.05, left.shape), 0, 1)
    dl = [rng.uniform(0.05, 0.2, (b, h // 2**s, w // 2**s, 1)) for s in range(2)]
    dr = [rng.uniform(0.05, 0.2, (b, h // 2**s, w // 2**s, 1)) for s in range(2)]
    ml = (rng.uniform(size=(b, h, w, 1)) > 0.2).astype(np.float64)
    mr = (rng.uniform(size=(b, h, w, 1)) > 0.2).astype(np.float64)
    return left, right, dl, dr, ml, mr


def _f(x):
    return [tf.constant(a, tf.float32) for a in x] if isinstance(x, list) else tf.constant(x, tf.float32)


@pytest.mark.parametrize("masked", [False, True])
def test_stereo_loss_matches_reference(masked):
    left, right, dl, dr, ml, mr = _scene()
    if not masked:
        ml, mr = np.ones_like(ml), np.ones_like(mr)
    got = stereo_loss(_f(left), _f(right), _f(dl), _f(dr), mask_left=_f(ml), mask_right=_f(mr))
    want = ref_stereo(left, right, dl, dr, ml, mr)
    for key in ("total", "appearance", "smoothness", "lr"):
        assert float(got[key]) == pytest.approx(want[key], rel=TOL, abs=TOL), key
    if not masked:
        plain = stereo_loss(_f(left), _f(right), _f(dl), _f(dr))
        assert float(plain["total"]) == pytest.approx(float(got["total"]), rel=1e-6)


def test_stereo_loss_zero_at_identity():
    left = np.random.default_rng(5).uniform(size=(1, 8, 8, 3))
    zero = [np.zeros((1, 8, 8, 1)), np.zeros((1, 4, 4, 1))]
    got = stereo_loss(_f(left), _f(left), _f(zero), _f(zero))
    assert all(abs(float(v)) < TOL for v in got.values())


@pytest.mark.parametrize("kind", ["empty", "full", "random"])
def test_stereo_loss_finite_values_and_gradients(kind):
    left, right, dl, dr, ml, mr = _scene(6)
    mask = {"empty": np.zeros_like(ml), "full": np.ones_like(ml), "random": ml}[kind]
    disp = [tf.Variable(d, dtype=tf.float32) for d in dl + dr]
    with tf.GradientTape() as tape:
        got = stereo_loss(_f(left), _f(right), disp[:2], disp[2:], mask_left=_f(mask), mask_right=_f(mask))
    grads = tape.gradient(got["total"], disp)
    assert np.isfinite(float(got["total"]))
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    if kind == "empty":
        assert float(got["total"]) == 0.0
    else:
        assert sum(float(tf.reduce_sum(tf.abs(g))) for g in grads) > 0


def test_stereo_keras_loss_round_trips():
    left, right, _, _, ml, mr = _scene(7, b=2)
    y_true = pack_stereo_target(_f(left), _f(right), _f(ml), _f(mr))
    assert y_true.shape[-1] == 8
    loss = StereoLoss(scales=2)
    again = StereoLoss.from_config(loss.get_config())
    assert again.get_config() == loss.get_config()
    disp = np.random.default_rng(8).uniform(0.05, 0.2, (2, 8, 8, 2)).astype(np.float32)
    want = ref_stereo(
        left, right,
        [disp[..., :1], ref_block_mean(disp[..., :1], 2)], [disp[..., 1:], ref_block_mean(disp[..., 1:], 2)],
        ml, mr,
    )["total"]
    assert float(again(y_true, disp)) == pytest.approx(want, rel=TOL)


@pytest.mark.slow  # traces the loss inside fit: the slowest test of make test-fast before it was marked
def test_stereo_keras_loss_trains_in_model_fit():
    left, right, _, _, ml, mr = _scene(7, b=2)
    y_true = pack_stereo_target(_f(left), _f(right), _f(ml), _f(mr))
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, padding="same", activation="sigmoid")])
    # One scale keeps the graph (and its trace on shared CPUs) small; the scales were checked above.
    model.compile(optimizer="sgd", loss=StereoLoss(scales=1))
    history = model.fit(left.astype(np.float32), y_true, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
