"""Datasets chosen by name from a config entry ``{type: NAME, weight: W, ...options}``."""
from __future__ import annotations

import inspect
from typing import Any, Callable

import tensorflow as tf

from keras_depth.errors import UsageError
from keras_depth.registry import Registry

DatasetBuilder = Callable[..., tf.data.Dataset]
# The modules that register datasets are imported when a name is first looked up.
DATASETS: Registry[DatasetBuilder] = Registry(
    "dataset type",
    ("keras_depth.data.synthetic.dataset", "keras_depth.data.readers", "keras_depth.data.semantics_view"),
)
register_dataset = DATASETS.register


def build_dataset(entry: dict[str, Any], **context: Any) -> tf.data.Dataset:
    """A dataset of raw samples (docs/contracts.md section 1) from one config entry.

    ``context`` carries run-wide settings (``cache_dir``, ``strict``, ``seed``) that a builder may take.
    """
    if not isinstance(entry, dict) or "type" not in entry:
        raise UsageError(f"dataset entry {entry!r}: expected a mapping with a 'type' key")
    options = {k: v for k, v in entry.items() if k not in ("type", "weight")}
    name = entry["type"]
    fn = DATASETS.get(name)
    params = inspect.signature(fn).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [k for k in options if k not in params and not accepts_any]
    if unknown:
        raise UsageError(f"dataset {name!r}: unknown option(s) {unknown} (expected: {', '.join(p for p in params if p not in context)})")
    kwargs = {k: v for k, v in context.items() if k in params or accepts_any}
    kwargs.update(options)
    return fn(**kwargs)
