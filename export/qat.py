"""Quantization-aware training (tfmot): annotate the flat float model, ``quantize_apply``, fine-tune.

The flow is tfmot's documented one: clone with ``quantize_annotate_layer`` on every layer but those
kept in float, ``quantize_apply`` inside ``quantize_scope``, then ``model.fit`` at a low rate.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Sequence

from keras_depth.config import Config
from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras, tfmot


def quantize_scope():
    """tfmot's scope plus our custom layers and their QuantizeConfig (to load QAT models)."""
    from keras_depth.models.quantize_configs import custom_objects

    return tfmot().quantization.keras.quantize_scope(custom_objects())


def make_qat_model(model: keras.Model, float_layers: Sequence[str] = ()) -> keras.Model:
    """The QAT twin of ``model``: fake-quant on every layer except ``float_layers`` (kept in float)."""
    q = tfmot().quantization.keras
    names = {l.name for l in model.layers}
    missing = sorted(set(float_layers) - names)
    if missing:
        raise UsageError(f"qat.float_layers: no layer named {missing} in model {model.name!r}")
    if any(isinstance(l, keras.Model) for l in model.layers):
        raise UsageError(f"model {model.name!r} nests a Model; QAT needs one flat functional graph")
    keep = set(float_layers)
    from keras_depth.models.quantize_configs import quantize_config_for

    def annotate(layer):
        cloned = layer.__class__.from_config(layer.get_config())
        if layer.name in keep or isinstance(layer, keras.layers.InputLayer):
            return cloned
        # Layers tfmot's default registry lacks (custom ones, Multiply) get our QuantizeConfig here.
        return q.quantize_annotate_layer(cloned, quantize_config=quantize_config_for(cloned))

    annotated = keras.models.clone_model(model, clone_function=annotate)
    annotated.set_weights(model.get_weights())
    with quantize_scope():
        return q.quantize_apply(annotated)


def load_qat_model(path: str | Path) -> keras.Model:
    p = Path(path)
    if not p.exists():
        raise UsageError(f"QAT model not found: {p}")
    with quantize_scope():
        return keras.models.load_model(p, compile=False)


def run_qat(config: Config, model: keras.Model) -> tuple[keras.Model, dict]:
    """Fine-tune the QAT twin of ``model`` on the training pipeline; returns it and its history."""
    from keras_depth.data.pipeline import make_dataset
    from keras_depth.training.strategy import get_strategy
    from keras_depth.training.trainer import _steps, compile_model

    q = config.qat
    steps = _steps(config, "train", q.steps_per_epoch)
    strategy = get_strategy(config.train.distribute)
    with strategy.scope():
        qat_model = make_qat_model(model, q.float_layers)
        compile_model(qat_model, config, steps, q.epochs, q.learning_rate)
    verbose = config.train.verbose if config.train.verbose != 1 else 2
    hist = qat_model.fit(
        make_dataset(config, "train"),
        epochs=q.epochs,
        steps_per_epoch=steps,
        validation_data=make_dataset(config, "val"),
        verbose=verbose,
    )
    return qat_model, {k: [float(v) for v in vals] for k, vals in hist.history.items()}


def save_qat_run(qat_model: keras.Model, history: dict, out_dir: Path) -> Path:
    """Write the QAT model (loadable with ``load_qat_model``) and its history beside the float model."""
    from keras_depth.io import atomic_write_text
    from keras_depth.training.callbacks import save_model_atomic

    # HDF5: tfmot's QuantizeLayer does not reload from the .keras format (its variables are saved
    # under other names and load_model refuses them), while HDF5 round-trips exactly.
    path = Path(out_dir) / "model_qat.h5"
    with quantize_scope():
        save_model_atomic(qat_model, path)
    atomic_write_text(Path(out_dir) / "history_qat.json", json.dumps(history, indent=2))
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from keras_depth.training.cli import add_config_arguments

    add_config_arguments(parser)
    parser.add_argument("--model", help="trained float model (default: OUTPUT_DIR/model.keras)")


def run(args: argparse.Namespace) -> int:
    from keras_depth.training.cli import load_config_from_args
    from keras_depth.training.trainer import load_trained_model

    config = load_config_from_args(args)
    out = Path(config.output_dir)
    model = load_trained_model(args.model or out / "model.keras")
    start = time.time()
    qat_model, history = run_qat(config, model)
    path = save_qat_run(qat_model, history, out)
    print(f"QAT model: {path}  ({time.time() - start:.0f} s)")
    return 0
