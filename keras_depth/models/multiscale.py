"""Multi-scale training outputs that WRAP the inference graph (STYLE.md: training-only extras wrap it).

``build_training_model(model)`` returns a second functional model over the same layers (shared weights)
whose outputs are the full-resolution prediction plus one prediction per intermediate decoder scale,
each upsampled (nearest) to full resolution so every output is compared with the same target, as in
Monodepth2 (Godard et al. 2019, Sec. 3.3). QAT and export keep using ``model`` itself, which is untouched.
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras, layers
from keras_depth.models.blocks import depth_head
from keras_depth.spec import DepthSpec


def decoder_stage_outputs(model: keras.Model) -> list:
    """The output tensor of each decoder stage (the last layer named ``dec{i}_*``), coarse to fine."""
    last: dict[int, object] = {}
    for layer in model.layers:
        m = re.match(r"dec(\d+)_", layer.name)
        if m:
            last[int(m.group(1))] = layer
    if not last:
        raise UsageError(f"model {model.name!r}: no decoder stages (layers named dec<i>_*) to take scales from")
    return [last[i].output for i in sorted(last)]


def build_training_model(
    model: keras.Model,
    spec: Optional[DepthSpec] = None,
    scales: Sequence[int] = (8, 4, 2),
    parameterisation: str = "sigmoid",
) -> keras.Model:
    """``model``'s output plus predictions at decoder scales 1/``s`` for ``s`` in ``scales``."""
    spec = spec or DepthSpec()
    h = int(model.inputs[0].shape[1])
    by_scale = {h // int(t.shape[1]): t for t in decoder_stage_outputs(model)}
    missing = [s for s in scales if s not in by_scale]
    if missing:
        raise UsageError(f"multi-scale: no decoder stage at 1/{missing} (stages at 1/{sorted(by_scale)})")
    outputs = [model.outputs[0]]
    for s in scales:
        y = depth_head(by_scale[s], spec, name=f"ms{s}_depth", parameterisation=parameterisation)
        outputs.append(layers.UpSampling2D(s, interpolation="nearest", name=f"ms{s}_up")(y))
    return keras.Model(model.inputs, outputs, name=f"{model.name}_multiscale")
