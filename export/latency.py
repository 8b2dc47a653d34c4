"""The one latency timer: ``invoke()`` of TFLite models (ai-edge-litert, XNNPACK on) on a fixed
random input, timed with ``time.perf_counter``; median and 90th percentile in ms.

``interleave=True`` invokes the models round-robin (one timed run of each per round), so load spikes
from other processes on a shared machine hit every model alike and their ratio holds; otherwise each
model is warmed up and timed alone, one after another.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Mapping

import numpy as np

from export.runtime import load_interpreter


def random_inputs(interpreter, rng: np.random.Generator) -> list[tuple[int, np.ndarray]]:
    """(tensor index, value) for every input: integers over 0..255 (clipped to the dtype) or floats in [0, 1)."""
    feeds = []
    for d in interpreter.get_input_details():
        dtype = np.dtype(d["dtype"])
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            x = rng.integers(max(0, info.min), min(255, info.max), d["shape"], endpoint=True).astype(dtype)
        else:
            x = rng.random(d["shape"]).astype(dtype)
        feeds.append((d["index"], x))
    return feeds


def measure_latency(models: Mapping[str, str | os.PathLike | bytes], threads: int, runs: int = 30, warmup: int = 3,
                    interleave: bool = True) -> dict[str, dict]:
    """``{name: {"median_ms", "p90_ms", "runs"}}`` of each model (a ``.tflite`` path or its bytes)."""
    rng = np.random.default_rng(0)
    its = {k: load_interpreter(v if isinstance(v, (bytes, bytearray)) else Path(v), num_threads=threads)
           for k, v in models.items()}
    feeds = {k: random_inputs(it, rng) for k, it in its.items()}
    times: dict[str, list[float]] = {k: [] for k in its}

    def invoke(k: str, timed: bool) -> None:
        it = its[k]
        for index, x in feeds[k]:
            it.set_tensor(index, x)
        start = time.perf_counter()
        it.invoke()
        if timed:
            times[k].append((time.perf_counter() - start) * 1e3)

    if interleave:
        for r in range(warmup + runs):
            for k in its:
                invoke(k, r >= warmup)
    else:
        for k in its:
            for r in range(warmup + runs):
                invoke(k, r >= warmup)
    return {k: {"median_ms": float(np.median(v)), "p90_ms": float(np.percentile(v, 90)), "runs": runs}
            for k, v in times.items()}
