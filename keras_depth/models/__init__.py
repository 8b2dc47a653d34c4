"""Model presets, chosen by name in a config (``model.name``), each a flat functional graph.

Importing this package stays light (no TensorFlow): the presets register on the first lookup.
"""
from keras_depth.models.build import (
    ModelBuilder,
    build_model,
    build_model_from_config,
    preset_defaults,
    preset_names,
    register_preset,
)

__all__ = ["ModelBuilder", "build_model", "build_model_from_config", "preset_defaults", "preset_names", "register_preset"]
