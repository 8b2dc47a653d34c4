"""The manifest text embedded in the ``.tflite`` flatbuffer as a named metadata buffer.

TFLite's ``Model.metadata`` is a list of ``{name, buffer}`` pairs that every runtime ignores, so a
model file can carry its own manifest (the JSON beside it stays the primary copy: Kotlin and the
evaluator read that; the embedded one lets a lone ``.tflite`` be identified). We edit the flatbuffer
with the object API of the schema module that ships with ai-edge-litert, so no TF import is needed.

This module moves text in and out of the flatbuffer; parsing it into a ``Manifest`` is
``export.manifest``'s job (``embed_manifest``, ``read_embedded_manifest``).
"""
from __future__ import annotations

from typing import Optional

from keras_depth.errors import UsageError

METADATA_NAME = "keras_depth_manifest"
_FILE_IDENTIFIER = b"TFL3"


def _schema():
    from ai_edge_litert import schema_py_generated as schema

    return schema


def _read_model(tflite: bytes):
    schema = _schema()
    if len(tflite) < 8 or tflite[4:8] != _FILE_IDENTIFIER:
        raise UsageError("not a TFLite flatbuffer (no 'TFL3' identifier)")
    return schema, schema.Model.GetRootAsModel(tflite, 0)


def embed_manifest_text(tflite: bytes, text: str) -> bytes:
    """``tflite`` with ``text`` (the manifest JSON) in metadata ``keras_depth_manifest``, replacing any
    earlier one."""
    import flatbuffers
    import numpy as np

    schema, model = _read_model(tflite)
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
    builder.Finish(obj.Pack(builder), file_identifier=_FILE_IDENTIFIER)
    return bytes(builder.Output())


def embedded_manifest_text(tflite: bytes) -> Optional[str]:
    """The embedded manifest JSON, or None when the model carries none."""
    _, model = _read_model(tflite)
    for i in range(model.MetadataLength()):
        meta = model.Metadata(i)
        if (meta.Name() or b"").decode() == METADATA_NAME:
            data = model.Buffers(meta.Buffer()).DataAsNumpy()
            return bytes(data).decode("utf-8")
    return None
