"""Where a QAT model's quantization ranges start: calibrated, not tfmot's [-6, 6].

tfmot's ``MovingAverageQuantizer`` creates every activation range as [-6, 6] and moves it towards each
batch's [min, max] by 0.1 % a step (``ema_decay=0.999``, no first-batch initialisation). After the
quickstart's 25 QAT steps a range still spans 0.999^25 = 97.5 % of [-6, 6]: a ReLU6 output spends half
its 256 levels on negative values it never takes, and a 0..1 activation gets 1/20 of them. This is why
the quickstart's int8 QAT scored worse than PTQ, whose ranges come from calibration (issue 17).

``calibrate_qat_ranges`` sets each such range, before fine-tuning, to what PTQ would calibrate: the
float model's [min, max] of that layer's output over the calibration images (widened to hold 0, as
TFLite's zero point must be a level). The depth head's output range is pinned separately
(``FixedRangeOutputConfig``); pre-activation ranges (the sigmoid's logits) are left to the moving
average. ``qat.calibrate_ranges`` (default false) turns it on: measured on the quickstart it did not
change QAT's accuracy (docs/export.md), and on a barely trained model (one epoch of quickstart_local)
its QAT validation loss went NaN, so it stays opt-in.
"""
from __future__ import annotations

import re

import numpy as np

from keras_depth.kerasapi import keras

# quant_<layer>/output_min:0, quant_<layer>/post_activation_max:0 (tfmot QuantizeWrapper variables);
# quantize_layer/quantize_layer_min:0 is the input's (an AllValuesQuantizer, updated every step).
MIN_WIDTH = 1e-3  # narrower calibrated ranges are left at tfmot's [-6, 6]
_RANGE_VAR = re.compile(r"^quant_(?P<layer>.+)/(?P<kind>output|post_activation)_(?P<end>min|max):0$")


def range_variables(qat_model: keras.Model) -> dict[str, dict[str, object]]:
    """{float layer name: {"min": var, "max": var}} for every moving-average output range."""
    found: dict[str, dict[str, object]] = {}
    for v in qat_model.non_trainable_weights:
        m = _RANGE_VAR.match(v.name)
        if m:
            found.setdefault(m["layer"], {})[m["end"]] = v
    return {k: d for k, d in found.items() if set(d) == {"min", "max"}}


def calibrate_qat_ranges(qat_model: keras.Model, model: keras.Model, images: np.ndarray,
                         batch_size: int = 8) -> dict[str, tuple[float, float]]:
    """Set ``qat_model``'s moving-average output ranges to ``model``'s (the float model it was made from)
    layer-output [min(0, min), max(0, max)] over ``images`` (float [N, h, w, 3] in [0, 1]); returns them."""
    variables = range_variables(qat_model)
    names = [n for n in variables if n in {l.name for l in model.layers}]
    if not names or len(images) == 0:
        return {}
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}
    for start in range(0, len(images), batch_size):
        outs = probe(images[start:start + batch_size], training=False)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        for n, o in zip(names, outs):
            o = np.asarray(o)
            lo[n] = min(lo.get(n, 0.0), float(o.min()))
            hi[n] = max(hi.get(n, 0.0), float(o.max()))
    ranges = {}
    for n in names:
        if hi[n] - lo[n] < MIN_WIDTH:  # a (near-)constant output: keep tfmot's range
            continue
        variables[n]["min"].assign(np.full(variables[n]["min"].shape, lo[n], np.float32))
        variables[n]["max"].assign(np.full(variables[n]["max"].shape, hi[n], np.float32))
        ranges[n] = (lo[n], hi[n])
    return ranges

