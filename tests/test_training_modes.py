"""Issue 4's training modes: each ``*_local`` config learns through ``model.fit``.

For every mode the untrained model (built with the config's seed, before the first step) is evaluated
on the held-out split from ``on_train_begin``, and the trained model on the same split by ``fit``'s
validation -- one traced test function for both. The loss must fall and the metrics must improve.
Stereo mode is also scored against the renderer's true disparity (pixels), which no part of
training sees.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_depth import spec as semantics
from keras_depth.config import load_config
from keras_depth.data.registry import build_dataset
from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras
from keras_depth.metrics.depth_metrics import compute_metrics

CONFIGS = Path(__file__).resolve().parents[1] / "keras_depth" / "configs"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def _config(name: str, out: Path, cache: Path, *overrides: str):
    return load_config(CONFIGS / f"{name}.yaml", [f"output_dir={out}", f"data.cache_dir={cache}", "train.verbose=0", *overrides])


class UntrainedSnapshot(keras.callbacks.Callback):
    """Held-out metrics of the model before its first step (and, given ``images``, its inference output)."""

    def __init__(self, val_ds, images=None):
        super().__init__()
        self.val_ds, self.images = val_ds, images
        self.logs, self.prediction = None, None

    def on_train_begin(self, logs=None):
        self.logs = self.model.evaluate(self.val_ds, verbose=0, return_dict=True)
        if self.images is not None:
            self.prediction = self.model.inference_model(self.images, training=False).numpy()


def _assert_learns(history: dict, untrained: dict, metric_prefix: str = ""):
    loss = history["loss"]
    assert loss[-1] < 0.85 * loss[0], f"training loss did not fall: {loss}"
    d1, ar = f"delta1{metric_prefix}", f"abs_rel{metric_prefix}"
    trained_d1, trained_ar = history[f"val_{d1}"][-1], history[f"val_{ar}"][-1]
    assert trained_d1 > untrained[d1] + 0.05, f"held-out {d1}: untrained {untrained[d1]:.3f}, trained {trained_d1:.3f}"
    assert trained_ar < untrained[ar], f"held-out {ar}: untrained {untrained[ar]:.3f}, trained {trained_ar:.3f}"


@pytest.mark.slow
def test_supervised_metric_mode_learns(tmp_path, cache_dir):
    from keras_depth.data.pipeline import make_dataset
    from keras_depth.training.trainer import train

    cfg = _config("supervised_metric_local", tmp_path / "run", cache_dir)
    snap = UntrainedSnapshot(make_dataset(cfg, "val"))
    result = train(cfg, resume=False, extra_callbacks=[snap])
    print("supervised-metric", snap.logs, {k: v[-1] for k, v in result.history.items()})
    _assert_learns(result.history, snap.logs)
    assert (tmp_path / "run" / "model.keras").is_file()


@pytest.mark.slow
def test_relative_mode_learns_from_mixed_semantics(tmp_path, cache_dir):
    """``relative_local`` (ssi_gm, ssi: median, alpha 0.2; 100 steps) on metric, relative and
    affine-disparity samples, scored on 48 held-out metric renders after least-squares alignment in
    disparity. Untrained, the aligned disparity is near or below zero on some pixels (floored at 1e-8),
    so the untrained AbsRel explodes: delta1 is the assertion that bites. Measured runs:
    docs/training.md."""
    from keras_depth.data.pipeline import make_dataset, raw_dataset
    from keras_depth.training.trainer import train

    cfg = _config("relative_local", tmp_path / "run", cache_dir)
    codes = {int(s["semantics"]) for s in raw_dataset(cfg, "train").take(48)}
    assert codes == {semantics.METRIC, semantics.RELATIVE, semantics.AFFINE_DISPARITY}
    snap = UntrainedSnapshot(make_dataset(cfg, "val"))
    result = train(cfg, resume=False, extra_callbacks=[snap])
    print("relative", snap.logs, result.history)
    _assert_learns(result.history, snap.logs, "_lstsq_disparity")


def _stereo_pairs(cfg, split: str):
    """Left images, the renderer's left disparity (pixels) and fx * baseline of ``split``'s pairs, unaugmented."""
    entry = getattr(cfg.data, split)[0]
    ds = build_dataset(entry, cache_dir=cfg.data.cache_dir, seed=cfg.seed)
    samples = list(ds.as_numpy_iterator())
    images = np.stack([s["left"] for s in samples]).astype(np.float32) / 255.0
    disparity = np.stack([s["disparity_left"][..., 0] for s in samples])
    fx_b = np.array([s["intrinsics"][0] * s["baseline"] for s in samples], np.float32)
    assert images.shape[1:3] == tuple(cfg.data.image_size), "renders must be at the model's size"
    return images, disparity, fx_b


@pytest.mark.slow
def test_stereo_mode_recovers_disparity(tmp_path, cache_dir):
    """Label-free recovery on the TRAINING pairs: ``stereo_local`` trains on 16 fixed rendered pairs
    (no depth, no disparity; 100 steps) and its left-disparity output is then scored against the
    renderer's true disparity of those same 16 pairs, which training never sees. This is what
    self-supervision does (a stereo rig fits its own footage); it is not generalisation: at this CPU
    budget the held-out pairs do not improve, so they are printed, not asserted. Measured runs:
    docs/training.md."""
    from keras_depth.training.stereo import StereoTrainer
    from keras_depth.training.trainer import _stereo_datasets, train

    cfg = _config("stereo_local", tmp_path / "run", cache_dir)
    train_batch = next(iter(_stereo_datasets(cfg, "train")))
    assert isinstance(train_batch, dict) and sorted(train_batch) == ["disparity_scale", "image", "image_right"], (
        "training batches must carry no depth labels"
    )
    images, true_px, fx_b = _stereo_pairs(cfg, "train")
    held_images, held_px, held_fx_b = _stereo_pairs(cfg, "val")
    snap = UntrainedSnapshot(_stereo_datasets(cfg, "val"), images)
    result = train(cfg, resume=False, extra_callbacks=[snap])
    assert not isinstance(result.model, StereoTrainer) and not any(isinstance(l, keras.Model) for l in result.model.layers)

    # The head is inverse depth in 1/m (keras_depth/training/stereo.py): pixels = output * fx * B.
    def disparity_metrics(output, px=true_px, fb=fx_b):
        return compute_metrics(px, output[..., 0] * fb[:, None, None])

    before = disparity_metrics(snap.prediction)
    after = disparity_metrics(result.model(images, training=False).numpy())
    held = disparity_metrics(result.model(held_images, training=False).numpy(), held_px, held_fx_b)
    loss = result.history["loss"]
    print(f"stereo disparity vs renderer, training pairs: delta1 untrained {before['delta1']:.3f} -> trained "
          f"{after['delta1']:.3f}; abs_rel {before['abs_rel']:.3f} -> {after['abs_rel']:.3f}; held-out delta1 "
          f"{held['delta1']:.3f} (untrained val {snap.logs['delta1']:.3f}); loss {loss}")
    assert loss[-1] < 0.85 * loss[0], f"training loss did not fall: {loss}"
    assert after["delta1"] > before["delta1"] + 0.15, (before, after)
    assert after["abs_rel"] < before["abs_rel"], (before, after)


def test_mode_and_spec_must_agree():
    from keras_depth.training.trainer import check_mode

    with pytest.raises(UsageError, match="model.spec.kind"):
        check_mode(load_config(CONFIGS / "stereo_local.yaml", ["model.spec.kind=depth"]))
    with pytest.raises(UsageError, match="model.spec.semantics"):
        check_mode(load_config(CONFIGS / "supervised_metric_local.yaml", ["model.spec.semantics=relative"]))
    with pytest.raises(UsageError, match="train.mode"):
        check_mode(load_config(CONFIGS / "supervised_metric_local.yaml", ["train.mode=stereo"]))


def test_losses_read_a_disparity_head_as_disparity():
    from keras_depth.training.trainer import loss_terms

    cfg = load_config(CONFIGS / "relative_local.yaml", ["train.losses=[{name: ssi_gm}, {name: l1, prediction: depth}]"])
    assert loss_terms(cfg) == [{"name": "ssi_gm", "prediction": "disparity"}, {"name": "l1", "prediction": "depth"}]


def test_semantics_view_eager_equals_dataset_map():
    from keras_depth.data.semantics_view import convert_semantics

    depth = tf.constant([[[2.0], [4.0]]])
    sample = {"depth": depth, "mask": tf.constant([[[1.0], [0.0]]]), "semantics": tf.constant(0)}
    eager = convert_semantics(sample, "affine_disparity", tf.constant(2.0), tf.constant(0.5))
    mapped = next(iter(tf.data.Dataset.from_tensors(sample).map(
        lambda s: convert_semantics(s, "affine_disparity", tf.constant(2.0), tf.constant(0.5)))))
    for out in (eager, mapped):
        np.testing.assert_allclose(out["depth"].numpy()[..., 0], [[2.0 / 2.0 + 0.5, 0.0]])  # invalid stays 0
        assert int(out["semantics"]) == semantics.AFFINE_DISPARITY
    rel = convert_semantics(sample, "relative", tf.constant(3.0), tf.constant(0.0))
    np.testing.assert_allclose(rel["depth"].numpy()[..., 0], [[6.0, 0.0]])


def test_disparity_scale_is_fx_baseline_over_width_with_fallback():
    from keras_depth.data.stereo_pipeline import disparity_scale

    k = disparity_scale(tf.constant([50.0, 50.0, 31.5, 31.5]), tf.constant(0.12), 64, 0.1)
    np.testing.assert_allclose(float(k), 50.0 * 0.12 / 64, rtol=1e-6)
    assert float(disparity_scale(tf.constant([-1.0] * 4), tf.constant(0.12), 64, 0.1)) == pytest.approx(0.1)


def test_stereo_loss_prefers_the_renderers_true_disparity(cache_dir):
    """Sanity oracle for the warp direction and the units: the true disparity pyramid (pixels / W)
    must score far below the best constant disparity and the sign-flipped truth."""
    from keras_depth.data.stereo_pipeline import disparity_scale
    from keras_depth.losses.stereo import disparity_pyramid, stereo_loss

    cfg = _config("stereo_local", cache_dir / "oracle", cache_dir)
    entry = cfg.data.val[0]
    samples = list(build_dataset(entry, cache_dir=cfg.data.cache_dir, seed=cfg.seed).as_numpy_iterator())
    left = np.stack([s["left"] for s in samples]).astype(np.float32) / 255.0
    right = np.stack([s["right"] for s in samples]).astype(np.float32) / 255.0
    width = left.shape[2]
    d_l = np.stack([s["disparity_left"] for s in samples]).reshape(left.shape[:3] + (1,)) / width
    d_r = np.stack([s["disparity_right"] for s in samples]).reshape(left.shape[:3] + (1,)) / width
    # The trainer's k = fx B / W times the true inverse depth is the same width fraction.
    k = np.array([float(disparity_scale(tf.constant(s["intrinsics"]), tf.constant(s["baseline"]), width, 0.1)) for s in samples])
    inv_depth = 1.0 / np.stack([s["depth"] for s in samples]).reshape(d_l.shape)
    np.testing.assert_allclose(k[:, None, None, None] * inv_depth, d_l, rtol=1e-4)

    def total(a, b):
        return float(stereo_loss(left, right, disparity_pyramid(tf.constant(a), 4), disparity_pyramid(tf.constant(b), 4))["total"])

    truth = total(d_l, d_r)
    best_constant = min(total(np.full_like(d_l, c), np.full_like(d_r, c)) for c in np.quantile(d_l, [0.25, 0.5, 0.75]))
    # Measured at 64x64 (seed 0, 16 val pairs): truth 0.245, median constant 0.479, flipped 1.588.
    assert truth < 0.7 * best_constant, (truth, best_constant)
    assert truth < 0.3 * total(-d_l, -d_r)
