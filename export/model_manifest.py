"""The manifest of a model we export: tensor facts read from the converted flatbuffer (or the Keras
model, for the SavedModel), meaning of the output from the ``DepthSpec``."""
from __future__ import annotations

from typing import Optional

import numpy as np

from keras_depth.kerasapi import keras
from keras_depth.runtime.manifest import InputSpec, Manifest, OutputSpec, Quantization
from keras_depth.runtime.tflite import load_interpreter
from keras_depth.spec import DepthSpec


def _quant(details: dict) -> Optional[Quantization]:
    scale, zp = details["quantization"]
    if np.dtype(details["dtype"]).kind in "iu" and scale > 0:
        return Quantization(scale=float(scale), zero_point=int(zp))
    return None


def _units(spec: DepthSpec) -> str:
    return "m" if spec.semantics == "metric" else "relative"


def build_manifest(model_file: str, tflite_bytes: bytes, variant: str, spec: DepthSpec,
                   config_sha256: Optional[str] = None, metrics: Optional[dict] = None) -> Manifest:
    """The manifest of a converted model, its tensor facts read from the flatbuffer itself."""
    it = load_interpreter(tflite_bytes, num_threads=1)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    _, h, w, c = (int(v) for v in inp["shape"])
    _, oh, ow, _ = (int(v) for v in out["shape"])
    return Manifest(
        model_file=model_file,
        variant=variant,
        input=InputSpec(height=h, width=w, channels=c, dtype=np.dtype(inp["dtype"]).name, quantization=_quant(inp)),
        output=OutputSpec(
            height=oh,
            width=ow,
            kind=spec.kind,
            semantics=spec.semantics,
            units=_units(spec),
            range=list(spec.output_range),
            dtype=np.dtype(out["dtype"]).name,
            quantization=_quant(out),
        ),
        training_config_sha256=config_sha256,
        metrics=metrics or {},
    )


def keras_manifest(model: keras.Model, spec: DepthSpec, variant: str, model_file: str,
                   config_sha256: Optional[str] = None) -> Manifest:
    """The manifest of a float Keras/SavedModel export (float32 interface, static [1, h, w, 3])."""
    _, h, w, c = model.input_shape
    _, oh, ow, _ = model.output_shape
    return Manifest(
        model_file=model_file, variant=variant,
        input=InputSpec(height=int(h), width=int(w), channels=int(c)),
        output=OutputSpec(height=int(oh), width=int(ow), kind=spec.kind, semantics=spec.semantics,
                          units=_units(spec), range=list(spec.output_range)),
        training_config_sha256=config_sha256,
    )
