"""The manifest text embedded in a ``.tflite`` flatbuffer as the named metadata buffer
``keras_depth_manifest``, read with the schema module that ships with ai-edge-litert (no TF import).

``export.manifest.embed_manifest`` puts it in; parsing it into a ``Manifest`` is
``keras_depth.runtime.manifest``'s job (``read_embedded_manifest``).
"""
from __future__ import annotations

from typing import Optional

from keras_depth.errors import UsageError

METADATA_NAME = "keras_depth_manifest"
FILE_IDENTIFIER = b"TFL3"


def read_flatbuffer(tflite: bytes):
    """(the schema module, the ``Model`` root of ``tflite``); a UsageError if it is no TFLite flatbuffer."""
    from ai_edge_litert import schema_py_generated as schema

    if len(tflite) < 8 or tflite[4:8] != FILE_IDENTIFIER:
        raise UsageError("not a TFLite flatbuffer (no 'TFL3' identifier)")
    return schema, schema.Model.GetRootAsModel(tflite, 0)


def embedded_manifest_text(tflite: bytes) -> Optional[str]:
    """The embedded manifest JSON, or None when the model carries none."""
    _, model = read_flatbuffer(tflite)
    for i in range(model.MetadataLength()):
        meta = model.Metadata(i)
        if (meta.Name() or b"").decode() == METADATA_NAME:
            data = model.Buffers(meta.Buffer()).DataAsNumpy()
            return bytes(data).decode("utf-8")
    return None
