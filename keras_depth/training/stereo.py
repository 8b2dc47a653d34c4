"""Self-supervised stereo training (Monodepth, Godard et al., CVPR 2017) wrapped around the flat
inference model.

Units. The inference model keeps its ``DepthSpec`` "disparity" head: inverse depth in 1/m, bounded
by [1/max_depth, 1/min_depth]. Monodepth's loss wants disparity as a fraction of the image width.
For a rectified pair with focal length fx (pixels), baseline B (m) and width W (pixels), a point at
depth Z is displaced by fx B / Z pixels, that is ``(fx B / W) * (1/Z)`` widths. The wrapper
multiplies every head by the pair's ``k = fx B / W`` (``disparity_scale`` from
``keras_depth.data.stereo_pipeline``) before the loss, so the photometric loss drives the head to
1/Z itself: metric inverse depth, ``spec: {kind: disparity, semantics: metric}``, and at prediction
time ``depth = 1 / output`` with no calibration (the phone's own fx and baseline never enter). Pairs
without calibration use ``train.stereo.fallback_disparity_scale``; trained on those, the output is
inverse depth up to scale only, so declare ``semantics: relative``.

Heads (training only, as STYLE.md asks: they wrap the inference graph, so QAT and export see the
flat model). At full resolution the left disparity IS the inference output and a 3x3 sigmoid head on
the same decoder features gives the right one; at 1/2, 1/4, 1/8 a 3x3 sigmoid head on that
decoder stage gives both (Monodepth's ``get_disp``), each mapped onto the spec's output range.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import tensorflow as tf

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras, layers
from keras_depth.losses.stereo import WRAP_MODES, stereo_loss
from keras_depth.spec import DepthSpec

# The U-Net decoder stages (keras_depth.models.unet), full resolution first: dec4 is the last stage.
UNET_DECODER_FEATURES = ("dec4_relu", "dec3_relu", "dec2_relu", "dec1_relu")
TERMS = ("appearance", "smoothness", "lr")


def _disparity_head(x: Any, channels: int, spec: DepthSpec, name: str) -> Any:
    lo, hi = spec.output_range
    x = layers.Conv2D(channels, 3, padding="same", activation="sigmoid", name=f"{name}_logits")(x)
    return layers.Rescaling(hi - lo, offset=lo, name=name, dtype="float32")(x)


def build_stereo_pyramid(
    inference_model: keras.Model,
    spec: DepthSpec,
    scales: int = 4,
    feature_layers: Optional[Sequence[str]] = None,
) -> keras.Model:
    """A functional model sharing ``inference_model``'s layers: image -> ``scales`` tensors
    [B, H/2^s, W/2^s, 2] (left, right disparity in the spec's units), full resolution first."""
    if spec.kind != "disparity":
        raise UsageError(f"model.spec.kind: self-supervised-stereo needs 'disparity', got {spec.kind!r}")
    names = list(feature_layers or UNET_DECODER_FEATURES)
    if not 1 <= scales <= len(names):
        raise UsageError(f"train.stereo.scales: expected 1..{len(names)} (one per feature layer), got {scales}")
    have = {l.name for l in inference_model.layers}
    missing = [n for n in names[:scales] if n not in have]
    if missing:
        raise UsageError(
            f"train.stereo.feature_layers: model {inference_model.name!r} has no layer(s) {missing}; "
            "name its decoder outputs, full resolution first"
        )
    out_hw = tuple(inference_model.output.shape[1:3])
    outputs = []
    for s, name in enumerate(names[:scales]):
        feat = inference_model.get_layer(name).output
        want = (out_hw[0] // 2**s, out_hw[1] // 2**s)
        if tuple(feat.shape[1:3]) != want:
            raise UsageError(f"train.stereo.feature_layers[{s}] {name!r}: expected spatial size {want}, got {tuple(feat.shape[1:3])}")
        if s == 0:
            right = _disparity_head(feat, 1, spec, "stereo_disp_right_s0")
            outputs.append(layers.Concatenate(name="stereo_disp_s0", dtype="float32")([inference_model.output, right]))
        else:
            outputs.append(_disparity_head(feat, 2, spec, f"stereo_disp_s{s}"))
    return keras.Model(inference_model.input, outputs, name=f"{inference_model.name}_stereo_pyramid")


def init_disparity_heads(pyramid: keras.Model, spec: DepthSpec, depth: float) -> None:
    """Set the bias of every sigmoid disparity head (``*_logits`` layers, the inference head's
    included) so that, with zero features, the heads output 1/``depth``."""
    lo, hi = spec.output_range
    p = (1.0 / depth - lo) / (hi - lo)
    if not 0.0 < p < 1.0:
        raise UsageError(f"train.stereo.init_depth: expected a depth inside ({spec.min_depth}, {spec.max_depth}) m, got {depth!r}")
    logit = float(np.log(p / (1.0 - p)))
    heads = [l for l in pyramid.layers if l.name.endswith("_logits") and isinstance(l, layers.Conv2D) and l.use_bias]
    if not heads:
        raise UsageError("train.stereo.init_depth: the model has no '*_logits' disparity head to initialise; set it to null")
    for layer in heads:
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel, np.full_like(bias, logit)])


class StereoTrainer(keras.Model):
    """``model.fit`` on stereo pairs: the Monodepth loss over the pyramid, no depth labels.

    ``x``: ``{"image", "image_right", "disparity_scale"}``; training batches have no ``y``. In
    validation a ``y`` (packed left-view target), when present, feeds the compiled metrics with the
    inference output (left disparity, full resolution) -- a report, never a training signal.
    """

    def __init__(
        self,
        inference_model: keras.Model,
        spec: DepthSpec,
        scales: int = 4,
        feature_layers: Optional[Sequence[str]] = None,
        alpha: float = 0.85,
        smoothness_weight: float = 0.1,
        lr_weight: float = 1.0,
        wrap_mode: str = "edge",
        init_depth: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        if wrap_mode not in WRAP_MODES:
            raise UsageError(f"train.stereo.wrap_mode: expected one of {WRAP_MODES}, got {wrap_mode!r}")
        super().__init__(name=kwargs.pop("name", "stereo_trainer"), **kwargs)
        self.inference_model = inference_model
        self.spec = spec
        self.scales = int(scales)
        self.alpha = float(alpha)
        self.smoothness_weight = float(smoothness_weight)
        self.lr_weight = float(lr_weight)
        self.wrap_mode = wrap_mode
        self.pyramid = build_stereo_pyramid(inference_model, spec, self.scales, feature_layers)
        self.init_depth = init_depth
        if init_depth is not None:
            init_disparity_heads(self.pyramid, spec, init_depth)
        self.trackers = [keras.metrics.Mean(name="loss")] + [keras.metrics.Mean(name=t) for t in TERMS]

    def call(self, inputs: Any, training: Any = None) -> Any:
        image = inputs["image"] if isinstance(inputs, dict) else inputs
        return self.pyramid(image, training=training)

    def _loss_terms(self, x: dict, training: bool) -> tuple[list, dict]:
        pyramid = self.pyramid(x["image"], training=training)
        pyramid = pyramid if isinstance(pyramid, (list, tuple)) else [pyramid]
        k = tf.reshape(tf.cast(x["disparity_scale"], tf.float32), [-1, 1, 1, 1])
        disp = [tf.cast(p, tf.float32) * k for p in pyramid]
        terms = stereo_loss(
            x["image"],
            x["image_right"],
            [d[..., 0:1] for d in disp],
            [d[..., 1:2] for d in disp],
            alpha=self.alpha,
            smoothness_weight=self.smoothness_weight,
            lr_weight=self.lr_weight,
            wrap_mode=self.wrap_mode,
        )
        if self.losses:
            terms["total"] = terms["total"] + tf.add_n(self.losses)
        return pyramid, terms

    def _track(self, terms: dict) -> None:
        self.trackers[0].update_state(terms["total"])
        for tracker, t in zip(self.trackers[1:], TERMS):
            tracker.update_state(terms[t])

    def train_step(self, data: Any) -> dict:
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            _, terms = self._loss_terms(x, training=True)
            # Per-replica mean; the strategy sums replica gradients.
            scaled = terms["total"] / tf.distribute.get_strategy().num_replicas_in_sync
        self.optimizer.minimize(scaled, self.trainable_variables, tape=tape)
        self._track(terms)
        return {m.name: m.result() for m in self.trackers}

    def test_step(self, data: Any) -> dict:
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        pyramid, terms = self._loss_terms(x, training=False)
        self._track(terms)
        logs = {m.name: m.result() for m in self.trackers}
        if y is not None and getattr(self, "compiled_metrics", None) is not None:
            self.compiled_metrics.update_state(y, pyramid[0][..., 0:1], sample_weight)
            logs.update({m.name: m.result() for m in self.compiled_metrics.metrics})
        return logs

    def predict_step(self, data: Any) -> Any:
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        image = x["image"] if isinstance(x, dict) else x
        return self.inference_model(image, training=False)

    @property
    def metrics(self) -> list:
        compiled = getattr(self, "compiled_metrics", None)
        return list(self.trackers) + (list(compiled.metrics) if compiled is not None else [])


def build_stereo_trainer(inference_model: keras.Model, spec: DepthSpec, options: Any) -> StereoTrainer:
    """``StereoTrainer`` from ``config.train.stereo`` (``keras_depth.config.StereoConfig``)."""
    return StereoTrainer(
        inference_model,
        spec,
        scales=options.scales,
        feature_layers=options.feature_layers or None,
        alpha=options.alpha,
        smoothness_weight=options.smoothness_weight,
        lr_weight=options.lr_weight,
        wrap_mode=options.wrap_mode,
        init_depth=options.init_depth,
    )
