"""The one latency timer: ``invoke()`` of TFLite models (ai-edge-litert, XNNPACK on) on a fixed
random input, timed with ``time.perf_counter``; median and 90th percentile in ms.

``interleave=True`` invokes the models round-robin (one timed run of each per round), so load spikes
from other processes on a shared machine hit every model alike and their ratio holds; otherwise each
model is warmed up and timed alone, one after another. ``input_hw`` runs a model at another input
size (``keras_depth.runtime.tflite.load_interpreter``), so that models are compared at equal size.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np

from keras_depth.runtime.tflite import load_interpreter


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


def invoke_schedule(names: Sequence[str], runs: int, warmup: int = 3, interleave: bool = True) -> list[tuple[str, bool]]:
    """(model, timed) in the order ``measure_latency`` invokes them: ``warmup`` untimed rounds, then
    ``runs`` timed ones; round-robin (a, b, a, b, ...) or each model's runs together (a, a, ..., b, b)."""
    rounds = [r >= warmup for r in range(warmup + runs)]
    if interleave:
        return [(k, timed) for timed in rounds for k in names]
    return [(k, timed) for k in names for timed in rounds]


def measure_latency(models: Mapping[str, str | os.PathLike | bytes], threads: int, runs: int = 30, warmup: int = 3,
                    interleave: bool = True, input_hw: Optional[Mapping[str, tuple[int, int]]] = None) -> dict[str, dict]:
    """``{name: {"median_ms", "p90_ms", "runs"}}`` of each model (a ``.tflite`` path or its bytes);
    ``input_hw``: {name: (h, w)} for the models to run resized."""
    rng = np.random.default_rng(0)
    sizes = dict(input_hw or {})
    its = {k: load_interpreter(v if isinstance(v, (bytes, bytearray)) else Path(v), num_threads=threads, input_hw=sizes.get(k))
           for k, v in models.items()}
    feeds = {k: random_inputs(it, rng) for k, it in its.items()}
    times: dict[str, list[float]] = {k: [] for k in its}
    for k, timed in invoke_schedule(list(its), runs, warmup, interleave):
        it = its[k]
        for index, x in feeds[k]:
            it.set_tensor(index, x)
        start = time.perf_counter()
        it.invoke()
        if timed:
            times[k].append((time.perf_counter() - start) * 1e3)
    return {k: {"median_ms": float(np.median(v)), "p90_ms": float(np.percentile(v, 90)), "runs": runs}
            for k, v in times.items()}


def fit_latency_slope(pixels: Sequence[float], ms: Sequence[float]) -> tuple[float, float]:
    """The least-squares line ``ms = slope * megapixels + intercept`` through (pixels, ms) points:
    (slope in ms per megapixel, intercept in ms). Needs two distinct pixel counts."""
    mp = np.asarray(pixels, np.float64) / 1e6
    y = np.asarray(ms, np.float64)
    if mp.shape != y.shape or np.unique(mp).size < 2:
        raise ValueError(f"fit_latency_slope: needs >= 2 distinct pixel counts with one latency each, got {list(pixels)}, {list(ms)}")
    (slope, intercept), *_ = np.linalg.lstsq(np.stack([mp, np.ones_like(mp)], axis=1), y, rcond=None)
    return float(slope), float(intercept)
