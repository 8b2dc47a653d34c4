"""The calibration images of full-int8 PTQ and of QAT's range calibration: the config's
``export.calibration`` (dataset entries of any registered type), or the training split when unset;
resized like validation samples, never augmented."""
from __future__ import annotations

import dataclasses

import numpy as np

from keras_depth.config import Config
from keras_depth.data.pipeline import make_dataset
from keras_depth.errors import UsageError


def calibration_config(config: Config) -> Config:
    """The config whose training split is the calibration set (``export.calibration`` when set)."""
    if not config.export.calibration:
        return config
    data = dataclasses.replace(config.data, train=list(config.export.calibration))
    return dataclasses.replace(config, data=data)


def representative_images(config: Config, count: int) -> np.ndarray:
    """Up to ``count`` calibration images, float [N, h, w, 3] in [0, 1] at the model's input size."""
    ds = make_dataset(calibration_config(config), "train", batch_size=1, training=False, repeat=False).take(count)
    xs = np.concatenate([x.numpy() for x, _ in ds] or [np.zeros((0, 1, 1, 3), np.float32)])
    if len(xs) == 0:
        where = "export.calibration" if config.export.calibration else "data.train"
        raise UsageError(f"export: {where} yielded no calibration image")
    return xs


def calibration_summary(config: Config, count: int) -> dict:
    entries = config.export.calibration or config.data.train
    return {"images": int(count), "datasets": [e.get("type", "?") for e in entries],
            "source": "export.calibration" if config.export.calibration else "data.train"}
