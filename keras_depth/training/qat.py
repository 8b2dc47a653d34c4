"""Quantization-aware training (tfmot): annotate the flat float model, ``quantize_apply``, fine-tune
(the QAT model's conversion to full-int8 TFLite is ``export.qat_convert``).

The flow is tfmot's documented one: clone with ``quantize_annotate_layer`` on every layer but those
kept in float, ``quantize_apply`` inside ``quantize_scope``, then ``model.fit`` at a low rate; with these
changes (issue 17): the depth output's range is pinned to the spec's (``FixedRangeOutputConfig``);
BatchNormalization is frozen while fine-tuning (``qat.freeze_batchnorm``); the target is the float
model's prediction (``qat.target``, ``keras_depth.training.qat_distill``); and, with
``qat.calibrate_ranges``, the activation ranges start from calibration instead of [-6, 6]
(``keras_depth.training.qat_ranges``).
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterator, Optional, Sequence

from keras_depth.config import Config
from keras_depth.data.calibration import representative_images
from keras_depth.data.pipeline import make_dataset
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_text
from keras_depth.kerasapi import keras, tfmot
from keras_depth.models.io import quantize_scope, save_qat_model
from keras_depth.models.quantize_configs import fixed_range_output_config, quantize_config_for
from keras_depth.spec import DepthSpec, pinned_range
from keras_depth.training.artifacts import history_floats
from keras_depth.training.interrupt import deferred_interrupt
from keras_depth.training.label_check import check_training_labels
from keras_depth.training.qat_distill import SelfDistillation, frozen
from keras_depth.training.qat_ranges import calibrate_qat_ranges
from keras_depth.training.strategy import get_strategy
from keras_depth.training.trainer import SUPERVISED_MODES, compile_model, steps_per_epoch


def make_qat_model(model: keras.Model, float_layers: Sequence[str] = (),
                   output_range: Optional[Sequence[float]] = None) -> keras.Model:
    """The QAT twin of ``model``: fake-quant on every layer except ``float_layers`` and the BN and
    activation layers fused into them (``fused_float_layers``), kept in float.

    ``output_range``: the spec's raw output range; the depth head's last layer and the pass-through
    layers after it (``output_head_layers``) are then quantized over exactly ``pinned_range(output_range)``
    (``FixedRangeOutputConfig``)."""
    q = tfmot().quantization.keras
    names = {l.name for l in model.layers}
    missing = sorted(set(float_layers) - names)
    if missing:
        raise UsageError(f"qat.float_layers: no layer named {missing} in model {model.name!r}")
    if any(isinstance(l, keras.Model) for l in model.layers):
        raise UsageError(f"model {model.name!r} nests a Model; QAT needs one flat functional graph")
    keep = fused_float_layers(model, float_layers)
    head = output_head_layers(model) if output_range is not None else []
    if output_range is not None and not head:
        raise UsageError(f"model {model.name!r}: no depth head layer (Conv2D or ClippedExp) to pin the output range on")

    def annotate(layer):
        cloned = layer.__class__.from_config(layer.get_config())
        if layer.name in keep or isinstance(layer, keras.layers.InputLayer):
            return cloned
        if layer.name in head:
            return q.quantize_annotate_layer(cloned, quantize_config=fixed_range_output_config(*pinned_range(output_range)))
        # Layers tfmot's default registry lacks (custom ones, Multiply) get our QuantizeConfig here.
        return q.quantize_annotate_layer(cloned, quantize_config=quantize_config_for(cloned))

    annotated = keras.models.clone_model(model, clone_function=annotate)
    annotated.set_weights(model.get_weights())
    with quantize_scope():
        return q.quantize_apply(annotated)


# Layers that pass their input's values through (TFLite gives their output the input's quantization).
_PASS_THROUGH = ("UpSampling2D", "Reshape", "Cropping2D", "ZeroPadding2D")


def output_head_layers(model: keras.Model) -> list[str]:
    """The layers whose output quantization the depth output gets: the producer of the ``depth`` output
    (else the first) and, through pass-through layers (a nearest upsampling, which tfmot gives its own
    moving-average range), the head layer before them; empty unless that is a Conv2D (the sigmoid
    head's affine map) or a ``ClippedExp`` (the exp head)."""
    producers: dict[str, list[str]] = {}
    for spec in model.get_config()["layers"]:
        producers[spec["name"]] = [inbound[0] for node in spec["inbound_nodes"] for inbound in node]
    names = list(model.output_names)
    name = "depth" if "depth" in names else names[0]
    by_name = {l.name: l for l in model.layers}
    chain = [name]
    while type(by_name[name]).__name__ in _PASS_THROUGH and len(producers.get(name, [])) == 1:
        name = producers[name][0]
        chain.append(name)
    return chain if type(by_name[name]).__name__ in ("Conv2D", "ClippedExp") else []


# Layers the TFLite converter fuses into the conv (or dense) before them: a float conv keeps them in float
# too. Left annotated alone, tfmot 0.8 rejects a BatchNormalization ("Layer bn is not supported").
_FUSED_FOLLOWERS = ("BatchNormalization", "ReLU", "Activation", "HardSwish")


def fused_float_layers(model: keras.Model, float_layers: Sequence[str]) -> set[str]:
    """``float_layers`` plus the BN and activation layers that follow each one as its only consumer."""
    consumers: dict[str, list[str]] = {}
    for spec in model.get_config()["layers"]:
        for node in spec["inbound_nodes"]:
            for inbound in node:
                consumers.setdefault(inbound[0], []).append(spec["name"])
    by_name = {l.name: l for l in model.layers}
    keep = set(float_layers)
    for name in float_layers:
        while len(consumers.get(name, [])) == 1 and type(by_name[consumers[name][0]]).__name__ in _FUSED_FOLLOWERS:
            name = consumers[name][0]
            keep.add(name)
    return keep


def _batchnorm_holders(model: keras.Model) -> list[tuple]:
    """(the layer of ``model`` that holds it: a BN or the QuantizeWrapper around it, the BN) pairs."""
    q = tfmot().quantization.keras
    pairs = [(l, l.layer if isinstance(l, q.QuantizeWrapper) else l) for l in model.layers]
    return [(outer, inner) for outer, inner in pairs if isinstance(inner, keras.layers.BatchNormalization)]


@contextlib.contextmanager
def frozen_batchnorm(model: keras.Model, enabled: bool = True) -> Iterator[list]:
    """While inside, every BatchNormalization layer of ``model`` is frozen: it normalises with its
    moving statistics, does not update them, and its gamma and beta do not train. Compile and fit inside.

    tfmot's QuantizeWrapperV2 copies the wrapped layer's trainable weights into its own list when it
    builds, and its ``trainable_weights`` ignores ``trainable``: so a frozen BN alone still trained its
    gamma and beta (and those steps moved the output's global scale: docs/export.md), and they are
    taken out of that list too, then put back. On exit the layers are trainable again: left frozen, the
    wrapper lists gamma and beta twice, which the HDF5 writer of ``save_qat_model`` refuses ("name already
    exists"). Yields the frozen BN layers (none unless ``enabled``)."""
    holders = _batchnorm_holders(model) if enabled else []
    kept = []
    for outer, inner in holders:
        inner.trainable = False
        if outer is not inner:
            own = list(outer._trainable_weights)  # tfmot has no public way to freeze a wrapped weight
            frozen_ids = {id(v) for v in (inner.gamma, inner.beta) if v is not None}
            outer._trainable_weights = [v for v in own if id(v) not in frozen_ids]
            kept.append((outer, own))
    try:
        yield [inner for _, inner in holders]
    finally:
        for outer, own in kept:
            outer._trainable_weights = own
        for _, inner in holders:
            inner.trainable = True


def float_layers_of(qat_model: keras.Model) -> list[str]:
    """The layers ``make_qat_model`` left in float, read back from a QAT model (also one loaded from disk):
    left unwrapped, or wrapped by tfmot with ``OutputOnlyConfig`` (the output range its quantized
    consumer needs)."""
    q = tfmot().quantization.keras
    found = []
    for layer in qat_model.layers:
        if isinstance(layer, q.QuantizeWrapper):
            if type(layer.quantize_config).__name__ == "OutputOnlyConfig":
                found.append(layer.layer.name)
        # tfmot exports no QuantizeLayer class in its public API: compare by name
        elif not isinstance(layer, keras.layers.InputLayer) and type(layer).__name__ != "QuantizeLayer":
            found.append(layer.name)
    return found


def float_twin(qat_model: keras.Model, model: keras.Model) -> keras.Model:
    """``model``'s graph with the QAT-fine-tuned weights (each wrapper's inner float weights): what the
    QAT model computes with its fake-quant nodes taken out."""
    twin = keras.models.clone_model(model)
    q = tfmot().quantization.keras
    qat_layers = {(l.layer.name if isinstance(l, q.QuantizeWrapper) else l.name): l for l in qat_model.layers}

    def suffix(v) -> str:  # "quant_conv_a/kernel:0" -> "kernel:0"
        return v.name.split("/", 1)[-1]

    for layer in twin.layers:
        if not layer.weights:
            continue
        src = qat_layers.get(layer.name)
        if src is None:
            raise UsageError(f"QAT model {qat_model.name!r} has no layer {layer.name!r} of float model {model.name!r}")
        # A wrapper owns its layer's float variables (beside its quantizers' min/max): the wrapped
        # layer's own get_weights() is empty once tfmot swapped its kernel for the fake-quant tensor.
        have = {suffix(v): v for v in src.weights}
        missing = [suffix(v) for v in layer.weights if suffix(v) not in have]
        if missing:
            raise UsageError(f"QAT layer {src.name!r} lacks weights {missing} of float layer {layer.name!r}")
        layer.set_weights([have[suffix(v)].numpy() for v in layer.weights])
    return twin


def run_qat(config: Config, model: keras.Model, pin_output: bool = True) -> tuple[keras.Model, dict]:
    """Fine-tune the QAT twin of ``model`` on the training pipeline; returns it and its history. In the
    supervised modes it learns ``model``'s own prediction (``qat.target: float_model``,
    ``keras_depth.training.qat_distill``) unless ``qat.target`` is ``labels``; validation scores it on the labels.

    ``pin_output``: quantize the depth output over the spec's range (False: tfmot's moving average, as
    before issue 17; benchmarks/bench_encodings.py measures both)."""
    q = config.qat
    check_training_labels(config)
    steps = steps_per_epoch(config, "train", q.steps_per_epoch)
    strategy = get_strategy(config.train.distribute)
    spec = DepthSpec.from_dict(config.model.spec)
    with strategy.scope():
        qat_model = make_qat_model(model, q.float_layers, spec.output_range if pin_output else None)
        if q.calibrate_ranges:
            calibrate_qat_ranges(qat_model, model, representative_images(config, config.export.representative_samples))
    verbose = config.train.verbose if config.train.verbose != 1 else 2
    # Self-distillation needs the float model's prediction per batch: the supervised modes' packed
    # targets carry the mask it keeps; the self-supervised modes fine-tune on their own losses.
    distill = q.target == "float_model" and config.train.mode in SUPERVISED_MODES
    with frozen_batchnorm(qat_model, q.freeze_batchnorm), (frozen(model) if distill else contextlib.nullcontext()), \
            deferred_interrupt() as stop:
        with strategy.scope():
            fit_model = SelfDistillation(qat_model, model, spec) if distill else qat_model
            compile_model(fit_model, config, steps, q.epochs, q.learning_rate)
        hist = fit_model.fit(
            make_dataset(config, "train"),
            epochs=q.epochs,
            steps_per_epoch=steps,
            validation_data=make_dataset(config, "val"),
            callbacks=[stop],
            verbose=verbose,
        )
    return qat_model, history_floats(hist.history)


def save_qat_run(qat_model: keras.Model, history: dict, out_dir: Path) -> Path:
    """Write the QAT model (loadable with ``keras_depth.models.io.load_qat_model``) and its history
    beside the float model."""
    path = Path(out_dir) / "model_qat.h5"
    save_qat_model(qat_model, path)
    atomic_write_text(Path(out_dir) / "history_qat.json", json.dumps(history, indent=2))
    return path
