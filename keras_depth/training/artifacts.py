"""What a training run leaves in its output folder (read back with ``keras_depth.models.io``).

``model.keras`` (the flat inference model), ``model_meta.json`` (what prediction needs besides the
weights, as monodepth2 keeps it), ``history.json``; ``config.json`` is written when the run starts.
Every file is written atomically.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from keras_depth.config import Config
from keras_depth.io import atomic_write_text
from keras_depth.kerasapi import keras
from keras_depth.models.io import save_model_atomic


@dataclasses.dataclass
class TrainResult:
    model: keras.Model
    model_path: Path
    history: dict
    seconds: float


def model_meta(config: Config) -> dict:
    """What prediction needs besides the weights (monodepth2 keeps this next to the model)."""
    h, w = config.data.image_size
    return {
        "input": {"height": h, "width": w, "channel_order": "RGB", "normalization": {"scale": [1 / 255.0] * 3, "offset": [0.0] * 3}},
        "spec": config.model.spec,
        "model": {"name": config.model.name, "params": config.model.params},
        "config_sha256": config.sha256(),
    }


def save_trained_model(model: keras.Model, config: Config, history: dict, out: Path) -> Path:
    """Write ``model.keras``, ``model_meta.json`` and ``history.json`` into ``out``; the model's path."""
    model_path = out / "model.keras"
    save_model_atomic(model, model_path)
    atomic_write_text(out / "model_meta.json", json.dumps(model_meta(config), indent=2))
    atomic_write_text(out / "history.json", json.dumps(history, indent=2))
    return model_path


def history_floats(history: dict) -> dict:
    """``History.history`` as plain floats (JSON-ready)."""
    return {k: [float(v) for v in vals] for k, vals in history.items()}
