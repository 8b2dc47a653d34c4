"""Datasets chosen by name from a config entry ``{type: NAME, weight: W, ...options}``."""
from __future__ import annotations

from typing import Any, Callable

import tensorflow as tf

from keras_depth.errors import UsageError

DatasetBuilder = Callable[..., tf.data.Dataset]
_DATASETS: dict[str, DatasetBuilder] = {}
# Modules that register datasets when imported; import is deferred until a name is looked up.
_PROVIDERS = ("keras_depth.data.synthetic.dataset", "keras_depth.data.readers", "keras_depth.data.semantics_view")


def register_dataset(name: str) -> Callable[[DatasetBuilder], DatasetBuilder]:
    def deco(fn: DatasetBuilder) -> DatasetBuilder:
        _DATASETS[name] = fn
        return fn

    return deco


def _load_providers() -> None:
    import importlib

    for mod in _PROVIDERS:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise


def dataset_names() -> list[str]:
    _load_providers()
    return sorted(_DATASETS)


def build_dataset(entry: dict[str, Any], **context: Any) -> tf.data.Dataset:
    """A dataset of raw samples (docs/contracts.md section 1) from one config entry.

    ``context`` carries run-wide settings (``cache_dir``, ``strict``, ``seed``) that a builder may take.
    """
    _load_providers()
    if not isinstance(entry, dict) or "type" not in entry:
        raise UsageError(f"dataset entry {entry!r}: expected a mapping with a 'type' key")
    options = {k: v for k, v in entry.items() if k not in ("type", "weight")}
    name = entry["type"]
    if name not in _DATASETS:
        raise UsageError(f"dataset type {name!r} is unknown (expected one of: {', '.join(sorted(_DATASETS))})")
    import inspect

    fn = _DATASETS[name]
    params = inspect.signature(fn).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [k for k in options if k not in params and not accepts_any]
    if unknown:
        raise UsageError(f"dataset {name!r}: unknown option(s) {unknown} (expected: {', '.join(p for p in params if p not in context)})")
    kwargs = {k: v for k, v in context.items() if k in params or accepts_any}
    kwargs.update(options)
    return fn(**kwargs)
