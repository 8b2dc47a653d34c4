"""The models that ship inside the package, found by name, and the one rule that turns what a user
gives as a model into a file (``resolve_model``).

A shipped model is a folder ``keras_depth/pretrained/NAME/`` holding ``MODEL_CARD.md`` and
``model_int8_qat.tflite`` (its manifest embedded, and as ``model_int8_qat.json`` beside it); it may
also hold ``model_float32.tflite`` and ``model.keras`` with ``model_meta.json``. The folders are
package data (pyproject.toml), so a wheel carries them. ``NAME`` is the int8 file, what a phone
runs; ``NAME:float32`` and ``NAME:keras`` are the others.

Imports no TensorFlow: ``keras-depth models --pretrained`` lists the models without it, and every
command resolves its model before loading anything heavy.
"""
from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path
from typing import Optional

from keras_depth.errors import UsageError
from keras_depth.runtime.manifest import Manifest, read_manifest

ROOT = Path(__file__).resolve().parent
CARD = "MODEL_CARD.md"
# "NAME:VARIANT" -> the file of that name in the model's folder; a bare NAME is int8.
FILES = {"int8": "model_int8_qat.tflite", "float32": "model_float32.tflite", "keras": "model.keras"}
BARE = "int8"
# The default model when more than one ships; a single shipped model is the default by itself.
# Whoever adds a second model sets this (tests/test_pretrained.py fails until then).
DEFAULT: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class ShippedModel:
    """One folder of ``keras_depth/pretrained/``. ``files``: every file in it, sorted by name."""

    name: str
    folder: Path
    files: tuple[Path, ...]

    @property
    def card(self) -> Path:
        return self.folder / CARD

    def file(self, variant: str = BARE) -> Path:
        """The model file of ``variant`` (a key of ``FILES``); a UsageError when it does not ship."""
        if variant not in FILES:
            raise UsageError(f"{self.name}:{variant}: unknown variant {variant!r} (expected {self.name}, "
                             + ", ".join(f"{self.name}:{v}" for v in FILES if v != BARE) + ")")
        path = self.folder / FILES[variant]
        if not path.is_file():
            raise UsageError(f"{self.name}:{variant}: the shipped model {self.name} has no {FILES[variant]}")
        return path

    @functools.cached_property
    def manifest(self) -> Manifest:
        """The int8 model's manifest: what it outputs, its input size, its card's metrics."""
        return read_manifest(self.folder / FILES[BARE])

    @property
    def semantics(self) -> str:
        return self.manifest.output.semantics

    @property
    def input_hw(self) -> tuple[int, int]:
        return self.manifest.input.height, self.manifest.input.width

    @property
    def licence(self) -> str:
        """``metrics.licence`` of the manifest in one line ('' when it has none)."""
        licence = (self.manifest.metrics or {}).get("licence")
        if isinstance(licence, dict):
            if isinstance(licence.get("name"), str):
                return licence["name"]
            return "; ".join(f"{k}: {v}" for k, v in licence.items())
        return "" if licence is None else str(licence)


def shipped_models() -> list[ShippedModel]:
    """Every model that ships in this install, by name."""
    if not ROOT.is_dir():
        return []
    out = []
    for folder in sorted(ROOT.iterdir()):
        if folder.is_dir() and (folder / CARD).is_file() and (folder / FILES[BARE]).is_file():
            files = tuple(sorted((f for f in folder.iterdir() if f.is_file()), key=lambda f: f.name))
            out.append(ShippedModel(folder.name, folder, files))
    return out


def default_model() -> ShippedModel:
    """The model a command uses when none is given: the one that ships (``DEFAULT`` when several do)."""
    models = shipped_models()
    if not models:
        raise UsageError("no model ships in this install; give --model PATH (in Python: kd.load(PATH))")
    if len(models) == 1:
        return models[0]
    chosen = [m for m in models if m.name == DEFAULT]
    if not chosen:
        raise UsageError(f"{len(models)} models ship ({', '.join(m.name for m in models)}) and none is the default; "
                         "give --model NAME")
    return chosen[0]


def resolve_model(ref: str | os.PathLike | None = None) -> Path:
    """The model file ``ref`` means: None -> the default shipped model's int8 file; a shipped name ->
    its ``model_int8_qat.tflite``, ``NAME:float32`` -> ``model_float32.tflite``, ``NAME:keras`` ->
    ``model.keras``; an existing path -> itself. A string is tried as a name first, so a shipped
    name never means a file of the working folder (reach such a file as ``./NAME``); a ``Path``
    object is always a path. Anything else: a UsageError naming ``ref`` and the shipped names."""
    if ref is None:
        return default_model().file()
    if isinstance(ref, str) and os.sep not in ref and "/" not in ref:
        name, _, variant = ref.partition(":")
        model = next((m for m in shipped_models() if m.name == name), None)
        if model is not None:
            return model.file(variant or BARE)
    path = Path(ref)
    if path.exists():
        return path
    names = [m.name for m in shipped_models()]
    known = f"the shipped models: {', '.join(names)}" if names else "no model ships in this install"
    raise UsageError(f"model not found: {ref} (no such file; {known})")
