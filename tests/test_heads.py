"""Depth heads start at the geometric middle of their output range (blocks.depth_head)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from keras_depth.kerasapi import keras, layers
from keras_depth.models.blocks import depth_head
from keras_depth.spec import DepthSpec


@pytest.mark.parametrize("parameterisation", ["sigmoid", "exp"])
@pytest.mark.parametrize("kind,lo,hi", [("depth", 0.25, 10.0), ("disparity", 0.1, 4.0)])
def test_untrained_head_outputs_the_geometric_middle_of_its_range(parameterisation, kind, lo, hi):
    spec = DepthSpec(kind=kind, semantics="metric", min_depth=lo if kind == "depth" else 1 / hi,
                     max_depth=hi if kind == "depth" else 1 / lo)
    a, b = spec.output_range
    inp = keras.Input((4, 4, 3))
    # Zero features: the logits are the bias alone, so the output is what the bias encodes.
    model = keras.Model(inp, depth_head(layers.Lambda(lambda t: 0.0 * t)(inp), spec, parameterisation=parameterisation))
    out = model(np.ones((1, 4, 4, 3), np.float32)).numpy()
    np.testing.assert_allclose(out, math.sqrt(a * b), rtol=1e-5)
    np.testing.assert_allclose(math.log(out.flat[0] / a), 0.5 * math.log(b / a), rtol=1e-5)
