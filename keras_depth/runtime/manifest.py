"""The manifest: one JSON contract beside every exported model, read by every consumer.

The Python evaluator, the desktop demo and the Android ``depth-core`` all read it, so the
preprocessing constants and the meaning of the output live here and nowhere else. This module holds
the schema and reads it; ``export.manifest`` writes it (beside the model and inside the ``.tflite``).
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Optional

from keras_depth.errors import UsageError
from keras_depth.runtime.metadata import METADATA_NAME, embedded_manifest_text
from keras_depth.spec import OUTPUT_KINDS, check_output_range

MANIFEST_FORMAT = "keras-depth-manifest"
MANIFEST_VERSION = 1
DTYPES = ("float32", "float16", "uint8", "int8")


@dataclasses.dataclass
class Quantization:
    scale: float
    zero_point: int

    def dequantize(self, q: Any) -> Any:
        import numpy as np

        return (np.asarray(q, np.float32) - self.zero_point) * self.scale

    def quantize(self, x: Any, dtype: str) -> Any:
        import numpy as np

        info = np.iinfo(dtype)
        q = np.round(np.asarray(x, np.float32) / self.scale) + self.zero_point
        return np.clip(q, info.min, info.max).astype(dtype)


@dataclasses.dataclass
class InputSpec:
    height: int
    width: int
    channels: int = 3
    channel_order: str = "RGB"
    layout: str = "NHWC"
    dtype: str = "float32"
    # The float model sees x = pixel * scale + offset (pixel in 0..255), per channel.
    normalization: dict = dataclasses.field(default_factory=lambda: {"scale": [1 / 255.0] * 3, "offset": [0.0] * 3})
    quantization: Optional[Quantization] = None


@dataclasses.dataclass
class OutputSpec:
    height: int
    width: int
    kind: str = "depth"  # depth | disparity | log_depth (keras_depth.spec.OUTPUT_KINDS)
    semantics: str = "metric"  # metric | relative | affine_disparity
    units: str = "m"  # of depth: "m" for metric, "relative" otherwise
    # of the raw output: depth (m), disparity (1/m) or log depth (ln m); decode_output clips to it
    range: list = dataclasses.field(default_factory=lambda: [0.1, 10.0])
    dtype: str = "float32"
    quantization: Optional[Quantization] = None


@dataclasses.dataclass
class Manifest:
    model_file: str
    variant: str
    input: InputSpec
    output: OutputSpec
    training_config_sha256: Optional[str] = None
    metrics: dict = dataclasses.field(default_factory=dict)
    source: str = "keras-depth"
    notes: str = ""
    format: str = MANIFEST_FORMAT
    version: int = MANIFEST_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "manifest") -> "Manifest":
        try:
            if d.get("format") != MANIFEST_FORMAT:
                raise UsageError(f"{where}: 'format' is {d.get('format')!r}, expected {MANIFEST_FORMAT!r}")
            if d.get("version") != MANIFEST_VERSION:
                raise UsageError(f"{where}: 'version' is {d.get('version')!r}, expected {MANIFEST_VERSION}")
            d = dict(d)
            inp = dict(d.pop("input"))
            out = dict(d.pop("output"))
            for part in (inp, out):
                q = part.get("quantization")
                part["quantization"] = Quantization(**q) if q else None
            m = cls(input=InputSpec(**inp), output=OutputSpec(**out), **d)
        except (KeyError, TypeError) as e:
            raise UsageError(f"{where}: missing or unknown key ({e})") from None
        m.validate(where)
        return m

    @classmethod
    def from_json(cls, text: str, where: str = "manifest") -> "Manifest":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise UsageError(f"{where}: not valid JSON ({e.msg} at line {e.lineno})") from None
        return cls.from_dict(d, where)

    def validate(self, where: str = "manifest") -> None:
        for name, part in (("input", self.input), ("output", self.output)):
            if part.dtype not in DTYPES:
                raise UsageError(f"{where}: {name}.dtype {part.dtype!r} is not one of {DTYPES}")
            if part.dtype in ("uint8", "int8") and part.quantization is None:
                raise UsageError(f"{where}: {name}.dtype is {part.dtype} but {name}.quantization is missing")
        if self.output.kind not in OUTPUT_KINDS:
            raise UsageError(f"{where}: output.kind {self.output.kind!r} is not one of {OUTPUT_KINDS}")
        if self.output.semantics not in ("metric", "relative", "affine_disparity"):
            raise UsageError(f"{where}: output.semantics {self.output.semantics!r} is not known")
        why = check_output_range(self.output.kind, self.output.range)
        if why:
            raise UsageError(f"{where}: output.range {self.output.range} {why}")
        if self.input.channel_order not in ("RGB", "BGR"):
            raise UsageError(f"{where}: input.channel_order {self.input.channel_order!r} is not RGB or BGR")


def manifest_path(model_path: str | os.PathLike) -> Path:
    """``model.tflite`` -> ``model.json`` (the manifest beside it)."""
    p = Path(model_path)
    return p.with_suffix(".json") if p.suffix else p / "manifest.json"


def read_manifest(model_path: str | os.PathLike, manifest: Optional[str | os.PathLike] = None) -> Manifest:
    """The manifest of ``model_path``: ``manifest`` when given (a third-party model's hand-written
    one), else the JSON beside it (or ``model_path`` itself when it is a ``.json``), else the copy
    embedded in the ``.tflite`` (``read_embedded_manifest``)."""
    p = Path(model_path)
    if manifest is not None:
        path = Path(manifest)
        if not path.is_file():
            raise UsageError(f"--manifest {path}: file not found")
        return Manifest.from_json(path.read_text(), where=str(path))
    path = p if p.suffix == ".json" else manifest_path(p)
    if not path.is_file():
        if p.suffix == ".tflite" and p.is_file():
            embedded = read_embedded_manifest(p)
            if embedded is not None:
                return embedded
        raise UsageError(f"{p}: no manifest at {path} (every model needs one; see docs/contracts.md)")
    return Manifest.from_json(path.read_text(), where=str(path))


def read_embedded_manifest(model: str | os.PathLike | bytes) -> Optional[Manifest]:
    """The manifest embedded in a ``.tflite`` (path or bytes), validated; None when there is none."""
    where = "<bytes>" if isinstance(model, (bytes, bytearray)) else str(model)
    blob = bytes(model) if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()
    try:
        text = embedded_manifest_text(blob)
    except UsageError as e:
        raise UsageError(f"{where}: {e}") from None
    return None if text is None else Manifest.from_json(text, where=f"{where} (embedded {METADATA_NAME})")


def check_manifest_is_embedded_one(model_path: str | os.PathLike, manifest: Manifest) -> None:
    """UsageError if ``model_path`` carries an embedded manifest that disagrees with ``manifest`` (a
    JSON of another model put beside it or given for it); ``metrics`` and ``notes`` may differ."""
    embedded = read_embedded_manifest(model_path)
    if embedded is None:
        return
    ours, theirs = manifest.to_dict(), embedded.to_dict()
    for key in ours:
        if key not in ("metrics", "notes") and ours[key] != theirs.get(key):
            raise UsageError(f"{model_path}: its manifest belongs to another model: '{key}' is {_short(ours[key])} "
                             f"there but {_short(theirs.get(key))} in the manifest embedded in the file")


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "..."
