"""Model presets by name: the registry a config's ``model.name`` is looked up in, and ``build_model``.

The presets themselves are registered in ``keras_depth.models.presets``, imported on the first lookup.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Optional, Sequence

from keras_depth.errors import UsageError
from keras_depth.registry import Registry
from keras_depth.spec import DepthSpec

ModelBuilder = Callable[..., Any]
PRESETS: Registry[tuple[ModelBuilder, dict]] = Registry("model", providers=("keras_depth.models.presets",))


def register_preset(name: str, builder: ModelBuilder, /, **defaults: Any) -> None:
    """Register ``builder`` under ``name``; ``defaults`` may include the builder's own ``name`` argument."""
    PRESETS.register(name, (builder, defaults))


def preset_names() -> list[str]:
    return PRESETS.names()


def preset_defaults(name: str) -> dict:
    """The parameters preset ``name`` registers on top of its builder's own defaults."""
    return dict(PRESETS.get(name)[1])


def build_model(
    name: str,
    input_shape: Sequence[int] = (128, 128, 3),
    spec: Optional[DepthSpec | dict] = None,
    weights: Optional[str] = None,
    **params: Any,
):
    """Build preset ``name`` with ``params`` overriding its defaults."""
    builder, defaults = PRESETS.get(name)
    kwargs = {**defaults, **params}
    allowed = set(inspect.signature(builder).parameters)
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise UsageError(f"model {name!r}: unknown parameter(s) {unknown} (expected: {', '.join(sorted(allowed - {'input_shape', 'spec', 'weights'}))})")
    if isinstance(spec, dict):
        spec = DepthSpec.from_dict(spec)
    return builder(input_shape=tuple(input_shape), spec=spec, weights=weights, **kwargs)


def build_model_from_config(model_cfg, image_size: Sequence[int]):
    """``Config.model`` + ``Config.data.image_size`` -> the model."""
    h, w = image_size
    return build_model(model_cfg.name, (h, w, 3), DepthSpec.from_dict(model_cfg.spec), model_cfg.weights, **model_cfg.params)
