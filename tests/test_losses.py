"""The basic depth losses and DeMoN's gradient loss against numpy references written from the
formulas, the registry, and properties every registered loss must have (zero at identity, finite
values and gradients for empty, full and random masks)."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras
from keras_depth.losses import (
    LOSSES,
    berhu_loss,
    build_loss,
    get_loss,
    l1_loss,
    l2_loss,
    log_l1_loss,
    rel_l1_loss,
    scale_invariant_gradient_loss,
    silog_loss,
)
from keras_depth.packed_target import pack_target

TOL = 1e-5


def _data(seed: int = 0, shape=(2, 6, 7)):
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0.5, 4.0, shape)
    pred = gt * rng.uniform(0.6, 1.6, shape)
    mask = (rng.uniform(size=shape) > 0.3).astype(np.float64)
    gt[0, 0, 0] = 0.0  # invalid depth under a valid mask
    return gt, pred, mask


def _tf(*arrays):
    return [tf.constant(a[..., None], tf.float32) for a in arrays]


# ---- numpy references, written from the formulas ---------------------------------------------


def _valid(gt, mask):
    return (mask > 0.5) & np.isfinite(gt) & (gt > 0)


def ref_l2(gt, pred, mask):
    v = _valid(gt, mask)
    return np.mean((gt[v] - pred[v]) ** 2) if v.any() else 0.0


def ref_l1(gt, pred, mask):
    v = _valid(gt, mask)
    return np.mean(np.abs(gt[v] - pred[v])) if v.any() else 0.0


def ref_rel_l1(gt, pred, mask):
    v = _valid(gt, mask)
    return np.mean(np.abs(gt[v] - pred[v]) / gt[v]) if v.any() else 0.0


def ref_log_l1(gt, pred, mask):
    v = _valid(gt, mask)
    return np.mean(np.abs(np.log(gt[v]) - np.log(pred[v]))) if v.any() else 0.0


def ref_silog(gt, pred, mask, lam=0.85, bts=False):
    per = []
    for b in range(gt.shape[0]):
        v = _valid(gt[b], mask[b])
        if not v.any():
            continue
        d = np.log(pred[b][v]) - np.log(gt[b][v])
        n = d.size
        value = np.sum(d**2) / n - lam * np.sum(d) ** 2 / n**2  # Eigen et al. 2014, Eq. 4
        per.append(10 * np.sqrt(value) if bts else value)
    return np.mean(per) if per else 0.0


def ref_berhu(gt, pred, mask):
    v = _valid(gt, mask)
    r = np.abs(pred[v] - gt[v])
    c = 0.2 * r.max()
    return np.mean(np.where(r <= c, r, (r**2 + c**2) / (2 * c)))


def ref_demon(xi, xi_hat, mask, spacings=(1, 2, 4, 8, 16), normalize=True):
    """Ummenhofer et al. 2017, Eq. 3-4, with plain loops."""
    b_, h_, w_ = xi.shape
    total = 0.0
    for h in spacings:
        s, count = 0.0, 0
        for b in range(b_):
            for y in range(h_):
                for x in range(w_):
                    comps = []
                    for dy, dx in ((0, h), (h, 0)):
                        y2, x2 = y + dy, x + dx
                        if y2 < h_ and x2 < w_ and mask[b, y, x] and mask[b, y2, x2]:
                            g = (xi[b, y2, x2] - xi[b, y, x]) / (abs(xi[b, y2, x2]) + abs(xi[b, y, x]))
                            gh = (xi_hat[b, y2, x2] - xi_hat[b, y, x]) / (abs(xi_hat[b, y2, x2]) + abs(xi_hat[b, y, x]))
                            comps.append(g - gh)
                    if comps:
                        count += 1
                        s += np.sqrt(np.sum(np.square(comps)))
        total += s / max(count, 1) if normalize else s
    return total


# ---- values against the references -----------------------------------------------------------


@pytest.mark.parametrize(
    "fn, ref",
    [(l2_loss, ref_l2), (l1_loss, ref_l1), (rel_l1_loss, ref_rel_l1), (log_l1_loss, ref_log_l1), (silog_loss, ref_silog),
     (berhu_loss, ref_berhu)],
)
def test_basic_losses_match_numpy_reference(fn, ref):
    for seed in (0, 1):
        gt, pred, mask = _data(seed)
        got = float(fn(*_tf(gt, pred, mask)))
        assert got == pytest.approx(ref(gt, pred, mask), abs=TOL, rel=TOL)


def test_silog_options_match_reference():
    gt, pred, mask = _data(3)
    t = _tf(gt, pred, mask)
    assert float(silog_loss(*t, lam=0.5)) == pytest.approx(ref_silog(gt, pred, mask, lam=0.5), rel=TOL)
    assert float(silog_loss(*t, variant="bts")) == pytest.approx(ref_silog(gt, pred, mask, bts=True), rel=TOL)
    # pooled over the batch = one image holding all valid pixels
    pooled = ref_silog(gt.reshape(1, 1, -1), pred.reshape(1, 1, -1), mask.reshape(1, 1, -1))
    assert float(silog_loss(*t, per_image=False)) == pytest.approx(pooled, rel=TOL)


def test_berhu_hand_computed():
    # residuals 0.1, 0.5, 1.0 -> c = 0.2; 0.1 <= c; (0.25 + 0.04)/0.4 = 0.725; (1 + 0.04)/0.4 = 2.6
    gt = np.ones((1, 1, 3))
    pred = gt + np.array([[[0.1, -0.5, 1.0]]])
    assert float(berhu_loss(*_tf(gt, pred, np.ones_like(gt)))) == pytest.approx((0.1 + 0.725 + 2.6) / 3, rel=TOL)


@pytest.mark.parametrize("normalize", [True, False])
def test_scale_invariant_gradient_matches_reference(normalize):
    rng = np.random.default_rng(5)
    xi = rng.uniform(0.2, 2.0, (2, 9, 10))
    xi_hat = xi * rng.uniform(0.7, 1.3, xi.shape)
    mask = rng.uniform(size=xi.shape) > 0.2
    got = float(scale_invariant_gradient_loss(*_tf(xi, xi_hat, mask.astype(float)), normalize=normalize))
    assert got == pytest.approx(ref_demon(xi, xi_hat, mask, normalize=normalize), rel=TOL, abs=TOL)


def test_scale_invariant_gradient_is_scale_invariant():
    rng = np.random.default_rng(6)
    xi = rng.uniform(0.2, 2.0, (1, 8, 8))
    xi_hat = xi * rng.uniform(0.7, 1.3, xi.shape)
    ones = np.ones_like(xi)
    a = float(scale_invariant_gradient_loss(*_tf(xi, xi_hat, ones)))
    b = float(scale_invariant_gradient_loss(*_tf(xi, 3.0 * xi_hat, ones)))
    assert a == pytest.approx(b, rel=1e-5) and a > 0


# ---- Loss classes on the packed target --------------------------------------------------------


def _packed(gt, mask, semantics=0):
    return pack_target(gt[..., None], mask[..., None], np.full([gt.shape[0]], semantics, np.int32))


@pytest.mark.parametrize("name", ["l1", "l2", "rel_l1", "log_l1", "silog", "berhu"])
def test_loss_classes_unpack_the_target(name):
    gt, pred, mask = _data(4)
    ref = {"l1": ref_l1, "l2": ref_l2, "rel_l1": ref_rel_l1, "log_l1": ref_log_l1, "silog": ref_silog,
           "berhu": ref_berhu}[name]
    got = float(get_loss(name)(_packed(gt, mask), tf.constant(pred[..., None], tf.float32)))
    assert got == pytest.approx(ref(gt, pred, mask), rel=TOL, abs=TOL)
    disp = float(get_loss(name, prediction="disparity")(_packed(gt, mask), tf.constant(1 / pred[..., None], tf.float32)))
    assert disp == pytest.approx(got, rel=1e-4)


def test_scale_invariant_gradient_class_uses_inverse_depth():
    gt, pred, mask = _data(7)
    got = float(get_loss("scale_invariant_gradient")(_packed(gt, mask), tf.constant(pred[..., None], tf.float32)))
    v = _valid(gt, mask)
    xi = np.where(v, 1 / np.where(v, gt, 1), 0)
    assert got == pytest.approx(ref_demon(xi, 1 / pred, v), rel=TOL)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_config_round_trip(name):
    loss = get_loss(name)
    config = loss.get_config()
    again = type(loss).from_config(config)
    assert again.get_config() == config
    assert keras.losses.deserialize(keras.losses.serialize(loss)).get_config() == config
    gt, pred, mask = _data(8)
    y_true, y_pred = _packed(gt, mask), tf.constant(pred[..., None], tf.float32)
    assert float(again(y_true, y_pred)) == pytest.approx(float(loss(y_true, y_pred)), rel=1e-6)


def test_build_loss_sums_weighted_terms_and_round_trips():
    gt, pred, mask = _data(9)
    y_true, y_pred = _packed(gt, mask), tf.constant(pred[..., None], tf.float32)
    loss = build_loss([{"name": "silog", "weight": 1.0}, {"name": "l1", "weight": 0.1}, {"name": "silog", "lam": 1.0}])
    want = ref_silog(gt, pred, mask) + 0.1 * ref_l1(gt, pred, mask) + ref_silog(gt, pred, mask, lam=1.0)
    assert float(loss(y_true, y_pred)) == pytest.approx(want, rel=TOL)
    again = type(loss).from_config(loss.get_config())
    assert float(again(y_true, y_pred)) == pytest.approx(want, rel=TOL)


def test_unknown_names_and_params_raise_usage_error():
    with pytest.raises(UsageError, match="'silgo'"):
        get_loss("silgo")
    with pytest.raises(UsageError, match="lamda"):
        get_loss("silog", lamda=0.5)
    with pytest.raises(UsageError, match="scale"):
        build_loss([{"name": "ssi_gm", "weight": 1.0, "scale": 3}])
    with pytest.raises(UsageError, match="weight"):
        build_loss([{"name": "l1", "weight": "heavy"}])
    with pytest.raises(UsageError, match="name"):
        build_loss([{"weight": 1.0}])
    with pytest.raises(UsageError):
        build_loss({"name": "l1"})
    with pytest.raises(UsageError, match="variant"):
        get_loss("silog", variant="adabins")


# ---- properties of every registered loss ------------------------------------------------------


def _value_and_grad(loss, y_true, y_pred):
    y_pred = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        value = loss(y_true, y_pred)
    return value, tape.gradient(value, y_pred)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_zero_at_identity(name):
    gt, _, mask = _data(10, shape=(2, 8, 8))
    gt[0, 0, 0] = 1.0
    loss = get_loss(name)
    assert abs(float(loss(_packed(gt, mask), tf.constant(gt[..., None], tf.float32)))) < TOL


@settings(max_examples=6, deadline=None)
@given(
    kind=st.sampled_from(["empty", "full", "random"]),
    seed=st.integers(0, 2**16),
    semantics=st.sampled_from([0, 1, 2]),
)
def test_every_loss_finite_in_value_and_gradient(kind, seed, semantics):
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0.3, 5.0, (2, 8, 8))
    pred = rng.uniform(0.3, 5.0, (2, 8, 8)).astype(np.float32)
    mask = {"empty": np.zeros_like(gt), "full": np.ones_like(gt), "random": (rng.uniform(size=gt.shape) > 0.5) * 1.0}[kind]
    y_true = _packed(gt, mask, semantics)
    for name in sorted(LOSSES):
        value, grad = _value_and_grad(get_loss(name), y_true, pred[..., None])
        assert np.isfinite(float(value)), name
        assert np.all(np.isfinite(grad.numpy())), name
        if kind == "empty":
            assert float(value) == 0.0 and not np.any(grad.numpy()), name


def test_finite_at_identity_gradient():
    # sqrt and |.| at exactly zero residual are the usual sources of NaN gradients
    gt, _, mask = _data(11, shape=(2, 8, 8))
    gt[0, 0, 0] = 1.0
    for name in sorted(LOSSES):
        kwargs = {"variant": "bts"} if name == "silog" else {}
        _, grad = _value_and_grad(get_loss(name, **kwargs), _packed(gt, mask), gt[..., None].astype(np.float32))
        assert np.all(np.isfinite(grad.numpy())), name


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(0.05, 20.0), seed=st.integers(0, 2**16))
def test_silog_with_lambda_one_is_scale_invariant(scale, seed):
    gt, pred, mask = _data(seed % 1000)
    a = float(silog_loss(*_tf(gt, pred, mask), lam=1.0))
    b = float(silog_loss(*_tf(gt, scale * pred, mask), lam=1.0))
    assert b == pytest.approx(a, abs=1e-5, rel=1e-4)


def test_build_loss_trains_in_model_fit():
    gt, pred, mask = _data(12, shape=(4, 8, 8))
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(1, 3, padding="same", activation="softplus")])
    # The training config's shape of mix; every loss is traced in graph mode by this one fit.
    terms = [{"name": "silog", "weight": 1.0}, {"name": "l1", "weight": 0.1}, {"name": "ssi_gm", "weight": 0.5}]
    model.compile(optimizer="sgd", loss=build_loss(terms))
    history = model.fit(np.random.default_rng(0).uniform(size=(4, 8, 8, 3)), _packed(gt, mask), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
