"""The roofline bound that bench_training prints (benchmarks/training_profile.py)."""
from __future__ import annotations

import pytest

from benchmarks.training_profile import roofline_bound


def test_roofline_bound_by_hand():
    # 2 GFLOP at 100 GFLOP/s: 20 ms of convs at peak; BatchNorm 40 ms + PyFunc 20 ms of thread time
    # over 2 threads: 30 ms; the measured conv time (100 ms) does not enter. 20 / (20 + 30) = 40 %.
    totals = {"Conv2D": 60.0, "Conv2DBackpropFilter": 40.0, "FusedBatchNormV3": 40.0, "PyFunc": 20.0}
    least_ms, bound = roofline_bound(totals, 2.0, 100.0, 2)
    assert least_ms == pytest.approx(50.0)
    assert bound == pytest.approx(0.4)


def test_depthwise_counts_as_memory_bound():
    least_ms, bound = roofline_bound({"DepthwiseConv2dNative": 10.0}, 1.0, 100.0, 1)
    assert least_ms == pytest.approx(20.0) and bound == pytest.approx(0.5)
