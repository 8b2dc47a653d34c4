"""Model presets, chosen by name in a config (``model.name``), each a flat functional graph."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Optional, Sequence

from keras_depth.errors import UsageError
from keras_depth.spec import DepthSpec

ModelBuilder = Callable[..., Any]
_PRESETS: dict[str, tuple[ModelBuilder, dict]] = {}


def register_preset(name: str, builder: ModelBuilder, /, **defaults: Any) -> None:
    """Register ``builder`` under ``name``; ``defaults`` may include the builder's own ``name`` argument."""
    _PRESETS[name] = (builder, defaults)


def preset_names() -> list[str]:
    _load()
    return sorted(_PRESETS)


def preset_defaults(name: str) -> dict:
    """The parameters preset ``name`` registers on top of its builder's own defaults."""
    _load()
    if name not in _PRESETS:
        raise UsageError(f"model {name!r} is unknown (expected one of: {', '.join(sorted(_PRESETS))})")
    return dict(_PRESETS[name][1])


def _load() -> None:
    if not _PRESETS:
        from keras_depth.models import presets  # noqa: F401  (registers the presets)


def build_model(
    name: str,
    input_shape: Sequence[int] = (128, 128, 3),
    spec: Optional[DepthSpec | dict] = None,
    weights: Optional[str] = None,
    **params: Any,
):
    """Build preset ``name`` with ``params`` overriding its defaults."""
    _load()
    if name not in _PRESETS:
        raise UsageError(f"model {name!r} is unknown (expected one of: {', '.join(sorted(_PRESETS))})")
    builder, defaults = _PRESETS[name]
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
