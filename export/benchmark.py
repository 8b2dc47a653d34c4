"""Latency, size and peak memory of exported variants and peer models (``keras-depth benchmark``).

Method (docs/export.md):
- latency: ``keras_depth.runtime.latency.measure_latency`` (ai-edge-litert with its default XNNPACK
  delegate, ``num_threads`` 1 and 2; 3 warm-up invokes, then ``runs`` timed ``invoke()`` calls on a fixed input;
  median and 90th percentile in ms). Every model, ours and the peers', runs in this same process, one
  after another, so they share the machine's state (on shared cores the absolute figures drift;
  compare within a run).
- model size: the file's bytes (the manifest embedded in our files included).
- peak memory: native allocations are invisible to ``tracemalloc``, so each (model, threads) is also
  loaded in a fresh subprocess that, after importing the runtime, resets the kernel's peak-RSS mark
  (``/proc/self/clear_refs`` = 5), notes the resident set (``VmRSS``), loads, allocates and invokes 5
  times, and reports the peak resident set (``VmHWM``, what ``ru_maxrss`` reads) minus that baseline.
- resolution: every model is compared with its peers at equal input size. The float Keras model is
  rebuilt at each input size with the same weights (the U-Net is fully convolutional) and
  re-exported; by default at each peer's own input size (``comparison_sizes``). Peers run at their
  own size, and also resized to the size of each of our files where their graph allows
  (``keras_depth.runtime.tflite.load_interpreter``'s ``input_hw``; FastDepth's does not: fixed-size resizes
  inside); every row names its resolution.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import tensorflow as tf

from export.variants import export_variants
from keras_depth.config import Config
from keras_depth.data.calibration import representative_images
from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_text
from keras_depth.kerasapi import keras
from keras_depth.models import build_model_from_config
from keras_depth.runtime.latency import measure_latency
from keras_depth.runtime.tflite import load_interpreter
from keras_depth.spec import DepthSpec
from keras_depth.training.qat import make_qat_model

_MEMORY_PROBE = r"""
import json, sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter
def status_kib(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
try:  # reset the peak (VmHWM) so the imports' transient peak does not hide the model's (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
before = status_kib("VmRSS")
it = Interpreter(model_path=sys.argv[1], num_threads=int(sys.argv[2]))
d = it.get_input_details()[0]
if len(sys.argv) > 4:  # run resized to H W
    it.resize_tensor_input(d["index"], [1, int(sys.argv[3]), int(sys.argv[4]), int(d["shape"][3])], strict=False)
it.allocate_tensors()
d = it.get_input_details()[0]
x = np.zeros(d["shape"], d["dtype"])
for _ in range(5):
    it.set_tensor(d["index"], x)
    it.invoke()
print(json.dumps({"before_kib": before, "after_kib": status_kib("VmHWM")}))
"""


def peak_memory_mib(path: Path, threads: int, input_hw: Optional[Sequence[int]] = None) -> Optional[float]:
    """Peak resident memory (MiB) that loading and running ``path`` (resized to ``input_hw``) adds, in
    a fresh subprocess; None when the probe fails."""
    size = [str(int(v)) for v in input_hw] if input_hw is not None else []
    try:
        out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(path), str(threads), *size], capture_output=True,
                             text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1]
        r = json.loads(line)
        return (r["after_kib"] - r["before_kib"]) / 1024
    except (subprocess.SubprocessError, IndexError, ValueError, KeyError):
        return None


def model_facts(path: Path, input_hw: Optional[Sequence[int]] = None) -> dict:
    """Input size and dtype of a ``.tflite`` (resized to ``input_hw``), read from its tensors."""
    it = load_interpreter(path, num_threads=1, delegates=False, input_hw=input_hw)
    d = it.get_input_details()[0]
    return {"resolution": f"{int(d['shape'][1])}x{int(d['shape'][2])}", "input_dtype": np.dtype(d["dtype"]).name}


def comparison_sizes(configured: Sequence[Sequence[int]], peer_sizes: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """The input sizes to re-export our model at: the configured ones, else each peer's own input size
    (once each), so that every peer has our model beside it at equal size."""
    chosen = configured if configured else peer_sizes
    return list(dict.fromkeys((int(h), int(w)) for h, w in chosen))


def input_hw(path: Path) -> tuple[int, int]:
    """(height, width) of a ``.tflite``'s first input."""
    h, w = model_facts(path)["resolution"].split("x")
    return int(h), int(w)


def peers_resized_to(peers: dict[str, Path], sizes: Sequence[tuple[int, int]], notes: list[str]) -> dict[str, tuple[Path, tuple[int, int]]]:
    """Each peer resized to every size of ``sizes`` other than its own, where its graph allows:
    ``{"LABEL (HxW)": (path, (h, w))}``; appends to ``notes`` a line for each size a peer cannot run at."""
    out = {}
    for label, path in peers.items():
        for hw in (s for s in dict.fromkeys(sizes) if s != input_hw(path)):
            try:
                load_interpreter(path, num_threads=1, input_hw=hw)
                out[f"{label} ({hw[0]}x{hw[1]})"] = (path, hw)
            except UsageError as err:
                notes.append(f"{label} {str(err).split(': ', 1)[-1]}")  # the error less the file's path
    return out


def benchmark_models(models: dict[str, Path], threads: Sequence[int] = (1, 2), runs: int = 30, memory: bool = True,
                     log: Callable[[str], None] = print, resized: Optional[dict[str, Sequence[int]]] = None) -> list[dict]:
    """One row per (model, threads): name, resolution, size, median/p90 ms, peak memory; ``resized``:
    {name: (h, w)} for the models to run at another input size."""
    rows = []
    resized = resized or {}
    for name, path in models.items():
        path = Path(path)
        hw = resized.get(name)
        facts = model_facts(path, hw)
        size = path.stat().st_size / 1024
        for t in threads:
            lat = measure_latency({name: path}, t, runs, interleave=False, input_hw={name: hw} if hw else None)[name]
            mem = peak_memory_mib(path, t, hw) if memory else None
            row = {"model": name, **facts, "threads": int(t), "size_kib": size, **lat, "peak_mib": mem}
            rows.append(row)
            log(f"  {name:<34} {facts['resolution']:>8} {t} thr  median {lat['median_ms']:7.2f} ms  p90 {lat['p90_ms']:7.2f} ms  "
                f"{size:7.0f} KiB  peak {'-' if mem is None else f'{mem:.1f}'} MiB")
    return rows


def markdown(rows: Sequence[dict], title: str, notes: Sequence[str] = ()) -> str:
    lines = [f"# {title}", "", "Method: see export/benchmark.py (XNNPACK CPU, invoke() only, same process; "
             "peak memory = VmHWM minus VmRSS before loading, fresh subprocess). Compare rows of equal resolution.", "",
             *[f"- {n}" for n in notes], *([""] if notes else []),
             "| model | resolution | input | threads | median ms | p90 ms | size KiB | peak MiB |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mem = "-" if r["peak_mib"] is None else f"{r['peak_mib']:.1f}"
        lines.append(f"| {r['model']} | {r['resolution']} | {r['input_dtype']} | {r['threads']} | {r['median_ms']:.2f} | "
                     f"{r['p90_ms']:.2f} | {r['size_kib']:.0f} | {mem} |")
    return "\n".join(lines) + "\n"


def write_benchmark(rows: Sequence[dict], out_dir: Path, title: str, notes: Sequence[str] = ()) -> Path:
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "benchmark.json", json.dumps(list(rows), indent=2))
    atomic_write_text(out_dir / "benchmark.md", markdown(rows, title, notes))
    return out_dir / "benchmark.md"


def resize_model(model: keras.Model, hw: Sequence[int], config: Config) -> keras.Model:
    """The float model rebuilt at input ``hw`` with the same weights (fully convolutional)."""
    m = build_model_from_config(config.model, hw)
    m.set_weights(model.get_weights())
    return m


def resize_qat_model(qat_model: keras.Model, hw: Sequence[int], config: Config, float_model: keras.Model) -> keras.Model:
    """``qat_model`` rebuilt at input ``hw``: the same quantizers, so the same weight list; a QAT model
    whose output range was pinned (``run_qat``'s default) has a FixedRangeOutputConfig head and fewer
    quantizer variables than an unpinned one."""
    pinned = any(type(getattr(l, "quantize_config", None)).__name__ == "FixedRangeOutputConfig" for l in qat_model.layers)
    output_range = DepthSpec.from_dict(config.model.spec).output_range if pinned else None
    q = make_qat_model(resize_model(float_model, hw, config), config.qat.float_layers, output_range)
    q.set_weights(qat_model.get_weights())
    return q


def export_at_resolution(config: Config, model: keras.Model, qat_model: Optional[keras.Model], hw: Sequence[int],
                         variants: Sequence[str], out_dir: Path, log: Callable[[str], None] = print) -> dict[str, Path]:
    """Re-export ``variants`` at input ``hw`` into ``out_dir``; {variant: path}."""
    h, w = (int(v) for v in hw)
    m = resize_model(model, (h, w), config)
    q = resize_qat_model(qat_model, (h, w), config, model) if (qat_model is not None and "int8_qat" in variants) else None
    calib = representative_images(config, config.export.representative_samples)
    calib = tf.image.resize(calib, (h, w), antialias=True).numpy().clip(0, 1)
    res = export_variants(config, m, q, out_dir, [v for v in variants if v != "saved_model"], log=log, calib=calib, check=False)
    return {r.variant: r.path for r in res}
