"""What a ``teacher:`` block of ``distill.teachers`` holds (``TeacherSpec``): plain data, parsed and
checked when the config loads; ``keras_depth.distill.teachers`` loads the model it names.

A teacher has a kind, a file, output **semantics** (what its numbers mean) and, when no manifest
says so, its input size, normalisation, channel order and output index. Kinds:

- ``tflite``: a ``.tflite`` file run with ai-edge-litert; our own exports carry a manifest that
  supplies everything but the kind;
- ``peer``: a third-party TFLite model of ``keras_depth.runtime.peers`` (``path`` is its name), with
  the manifest generated from its PROVENANCE.md;
- ``onnx``: an ``.onnx`` file run with onnxruntime (NCHW or NHWC, read from its input shape);
- ``keras``: a ``.keras`` file or a SavedModel folder;
- ``precomputed``: a folder of depth maps (npy, png, pfm) made elsewhere (a PyTorch model on a GPU
  box), matched to the frames by name.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

from keras_depth.errors import UsageError
from keras_depth.spec import SEMANTICS_CODES

TEACHER_KINDS = ("tflite", "peer", "onnx", "keras", "precomputed")
FITS = ("crop", "resize")  # how a frame of another aspect is brought to the teacher's input


@dataclasses.dataclass
class TeacherSpec:
    kind: str
    path: str
    semantics: Optional[str] = None  # metric | relative | affine_disparity; None = from the manifest
    name: Optional[str] = None  # label in reports; default: the file's stem
    input_size: Optional[list] = None  # [height, width]; None = from the model (or manifest)
    normalization: Optional[dict] = None  # {scale: [3] or number, offset: [3] or number} on 0..255 pixels
    channel_order: Optional[str] = None  # RGB | BGR
    output_index: int = 0
    output_kind: Optional[str] = None  # the raw output: depth | disparity (a disparity output of a
    # metric or relative teacher is inverted to depth); None = the manifest's, else depth
    output_scale: float = 1.0  # raw output (or precomputed file value) x this = the label
    fit: str = "crop"  # crop: centre-crop frames to the input's aspect; resize: squash them

    @classmethod
    def from_dict(cls, d: Any, where: str = "teacher") -> "TeacherSpec":
        if not isinstance(d, dict):
            raise UsageError(f"{where}: expected a mapping with kind and path, got {d!r}")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        if unknown:
            raise UsageError(f"{where}.{unknown[0]}: unknown key (expected some of {', '.join(sorted(fields))})")
        for key in ("kind", "path"):
            if not isinstance(d.get(key), str) or not d.get(key):
                raise UsageError(f"{where}.{key}: required (a string)")
        spec = cls(**d)
        spec.check(where)
        return spec

    def check(self, where: str = "teacher") -> None:
        if self.kind not in TEACHER_KINDS:
            raise UsageError(f"{where}.kind: {self.kind!r} is not one of {TEACHER_KINDS}")
        if self.semantics is not None and self.semantics not in SEMANTICS_CODES:
            raise UsageError(f"{where}.semantics: {self.semantics!r} is not one of {sorted(SEMANTICS_CODES)}")
        if self.fit not in FITS:
            raise UsageError(f"{where}.fit: {self.fit!r} is not one of {FITS}")
        if self.output_kind not in (None, "depth", "disparity"):
            raise UsageError(f"{where}.output_kind: {self.output_kind!r} is not depth or disparity")
        if not (isinstance(self.output_scale, (int, float)) and self.output_scale > 0):
            raise UsageError(f"{where}.output_scale: expected a number > 0, got {self.output_scale!r}")
        if not isinstance(self.output_index, int) or self.output_index < 0:
            raise UsageError(f"{where}.output_index: expected an integer >= 0, got {self.output_index!r}")
        if self.input_size is not None:
            ok = isinstance(self.input_size, list) and len(self.input_size) == 2 and all(
                isinstance(v, int) and v > 0 for v in self.input_size)
            if not ok:
                raise UsageError(f"{where}.input_size: expected [height, width] of positive integers, got {self.input_size!r}")
        if self.channel_order not in (None, "RGB", "BGR"):
            raise UsageError(f"{where}.channel_order: {self.channel_order!r} is not RGB or BGR")
