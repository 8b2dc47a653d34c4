"""Writing a model's manifest (``keras_depth.runtime.manifest`` holds its schema and reads it): the JSON
beside the model, and the copy embedded in the ``.tflite`` flatbuffer as metadata
``keras_depth_manifest``.

TFLite's ``Model.metadata`` is a list of ``{name, buffer}`` pairs that every runtime ignores, so a
model file can carry its own manifest (the JSON beside it stays the primary copy: Kotlin and the
evaluator read that; the embedded one lets a lone ``.tflite`` be identified). The flatbuffer is
edited with the object API of the schema module that ships with ai-edge-litert, so no TF import is
needed.
"""
from __future__ import annotations

import os
from pathlib import Path

from keras_depth.io import atomic_write_text
from keras_depth.runtime.manifest import Manifest, manifest_path
from keras_depth.runtime.metadata import FILE_IDENTIFIER, METADATA_NAME, read_flatbuffer


def write_manifest(manifest: Manifest, model_path: str | os.PathLike) -> Path:
    path = manifest_path(model_path)
    atomic_write_text(path, manifest.to_json())
    return path


def embed_manifest(tflite: bytes, manifest: Manifest) -> bytes:
    """``tflite`` with ``manifest`` embedded as metadata ``keras_depth_manifest`` (replacing any earlier one)."""
    return embed_manifest_text(tflite, manifest.to_json())


def embed_manifest_text(tflite: bytes, text: str) -> bytes:
    """``tflite`` with ``text`` (the manifest JSON) in metadata ``keras_depth_manifest``, replacing any
    earlier one."""
    import flatbuffers
    import numpy as np

    schema, model = read_flatbuffer(tflite)
    obj = schema.ModelT.InitFromObj(model)
    obj.buffers = obj.buffers or []
    old = [m for m in (obj.metadata or []) if (m.name or b"").decode() == METADATA_NAME]
    obj.metadata = [m for m in (obj.metadata or []) if m not in old]
    for m in sorted(old, key=lambda m: -m.buffer):
        if m.buffer == len(obj.buffers) - 1:  # ours, appended last: drop it rather than orphan it
            obj.buffers.pop()
    buf = schema.BufferT()
    buf.data = np.frombuffer(text.encode("utf-8"), np.uint8)
    obj.buffers.append(buf)
    meta = schema.MetadataT()
    meta.name = METADATA_NAME
    meta.buffer = len(obj.buffers) - 1
    obj.metadata.append(meta)
    builder = flatbuffers.Builder(len(tflite) + len(text) + 1024)
    builder.Finish(obj.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())
