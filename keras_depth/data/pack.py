"""Packing the datasets of config entries into sharded TFRecords (``keras-depth data pack``).

Each entry ``{type: NAME, ...options}`` is built with the dataset registry and written by
``tfrecord.pack_tfrecords``; a config's entries go to ``OUT/NN_TYPE/``, and the matching
``{type: tfrecord, path: ..., weight: ...}`` entries replace them in a config.
"""
from __future__ import annotations

import dataclasses
import posixpath
from pathlib import Path
from typing import Any, Optional

import tensorflow as tf

from keras_depth.data.readers.source import BAD_DATA, reraise_data_error
from keras_depth.data.registry import build_dataset
from keras_depth.data.tfrecord import pack_tfrecords


@dataclasses.dataclass(frozen=True)
class PackOptions:
    """How samples are stored (``tfrecord.pack_tfrecords``)."""

    shards: int = 16
    image_format: str = "png"
    depth_encoding: str = "float16"
    depth_scale: float = 256.0
    short_side: Optional[int] = None


def pack_entry(entry: dict[str, Any], out: str, options: PackOptions, **context: Any) -> dict[str, Any]:
    """Pack the dataset of one config entry into ``out``; returns the written index plus ``skipped``,
    the number of bad samples skipped (``context``: run-wide settings such as ``strict``, ``cache_dir``)."""
    name = entry["type"]
    before = BAD_DATA.counts.get(name, 0)
    ds = build_dataset(entry, **context)
    try:
        index = pack_tfrecords(
            ds, out, options.shards, image_format=options.image_format, depth_encoding=options.depth_encoding,
            depth_scale=options.depth_scale, short_side=options.short_side,
            source={k: v for k, v in entry.items() if k != "weight"},
        )
    except tf.errors.OpError as e:
        reraise_data_error(e)
        raise
    index["skipped"] = BAD_DATA.counts.get(name, 0) - before
    return index


def entry_out_dir(out: str, i: int, entry: dict[str, Any]) -> str:
    """Where entry ``i`` of a config is packed: ``OUT/NN_TYPE`` (a local path or a URL such as gs://)."""
    name = f"{i:02d}_{entry['type']}"
    return posixpath.join(out.rstrip("/"), name) if "://" in out else str(Path(out) / name)


def tfrecord_entry(out: str, entry: dict[str, Any]) -> str:
    """The config entry (flow-style YAML) that reads the packed copy of ``entry`` with its weight."""
    return f"{{type: tfrecord, path: {out}, weight: {entry.get('weight', 1.0)}}}"
