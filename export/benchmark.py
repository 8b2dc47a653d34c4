"""``keras-depth benchmark``: latency, size and peak memory of exported variants and peer models.

Method (docs/export.md):
- latency: ai-edge-litert with its default XNNPACK delegate, ``num_threads`` 1 and 2; 3 warm-up
  invokes, then ``runs`` timed ``invoke()`` calls (``time.perf_counter``) on a fixed input; median and
  90th percentile in ms. Every model, ours and the peers', runs in this same process, one after another,
  so they share the machine's state (on shared cores the absolute figures drift; compare within a run).
- model size: the file's bytes (the manifest embedded in our files included).
- peak memory: native allocations are invisible to ``tracemalloc``, so each (model, threads) is also
  loaded in a fresh subprocess that, after importing the runtime, resets the kernel's peak-RSS mark
  (``/proc/self/clear_refs`` = 5), notes the resident set (``VmRSS``), loads, allocates and invokes 5
  times, and reports the peak resident set (``VmHWM``, what ``ru_maxrss`` reads) minus that baseline.
- resolution: the float Keras model is rebuilt at each input size with the same weights (the U-Net is
  fully convolutional) and re-exported; peers have a fixed input and are run at their own size.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_text

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
it.allocate_tensors()
d = it.get_input_details()[0]
x = np.zeros(d["shape"], d["dtype"])
for _ in range(5):
    it.set_tensor(d["index"], x)
    it.invoke()
print(json.dumps({"before_kib": before, "after_kib": status_kib("VmHWM")}))
"""


def time_invoke(path: Path, threads: int, runs: int = 30, warmup: int = 3) -> dict:
    """Median and p90 latency (ms) of ``invoke()`` on a constant input, in this process."""
    from export.runtime import load_interpreter

    it = load_interpreter(path, num_threads=threads)
    d = it.get_input_details()[0]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, d["shape"]).astype(d["dtype"]) if np.dtype(d["dtype"]).kind in "iu" else rng.random(d["shape"]).astype(d["dtype"])
    for _ in range(warmup):
        it.set_tensor(d["index"], x)
        it.invoke()
    times = []
    for _ in range(runs):
        it.set_tensor(d["index"], x)
        start = time.perf_counter()
        it.invoke()
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": float(np.median(times)), "p90_ms": float(np.percentile(times, 90)), "runs": runs}


def peak_memory_mib(path: Path, threads: int) -> Optional[float]:
    """Peak resident memory (MiB) that loading and running ``path`` adds, in a fresh subprocess."""
    try:
        out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(path), str(threads)], capture_output=True,
                             text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1]
        r = json.loads(line)
        return (r["after_kib"] - r["before_kib"]) / 1024
    except (subprocess.SubprocessError, IndexError, ValueError, KeyError):
        return None


def model_facts(path: Path) -> dict:
    """Variant, input size and dtype of a ``.tflite`` from its manifest (or its tensors when it has none)."""
    from export.runtime import load_interpreter

    it = load_interpreter(path, num_threads=1, delegates=False)
    d = it.get_input_details()[0]
    return {"resolution": f"{int(d['shape'][1])}x{int(d['shape'][2])}", "input_dtype": np.dtype(d["dtype"]).name}


def benchmark_models(models: dict[str, Path], threads: Sequence[int] = (1, 2), runs: int = 30, memory: bool = True,
                     log: Callable[[str], None] = print) -> list[dict]:
    """One row per (model, threads): name, resolution, size, median/p90 ms, peak memory."""
    rows = []
    for name, path in models.items():
        path = Path(path)
        facts = model_facts(path)
        size = path.stat().st_size / 1024
        for t in threads:
            lat = time_invoke(path, t, runs)
            mem = peak_memory_mib(path, t) if memory else None
            row = {"model": name, **facts, "threads": int(t), "size_kib": size, **lat, "peak_mib": mem}
            rows.append(row)
            log(f"  {name:<34} {facts['resolution']:>8} {t} thr  median {lat['median_ms']:7.2f} ms  p90 {lat['p90_ms']:7.2f} ms  "
                f"{size:7.0f} KiB  peak {'-' if mem is None else f'{mem:.1f}'} MiB")
    return rows


def markdown(rows: Sequence[dict], title: str) -> str:
    lines = [f"# {title}", "", "Method: see export/benchmark.py (XNNPACK CPU, invoke() only, same process; "
             "peak memory = VmHWM minus VmRSS before loading, fresh subprocess).", "",
             "| model | resolution | input | threads | median ms | p90 ms | size KiB | peak MiB |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mem = "-" if r["peak_mib"] is None else f"{r['peak_mib']:.1f}"
        lines.append(f"| {r['model']} | {r['resolution']} | {r['input_dtype']} | {r['threads']} | {r['median_ms']:.2f} | "
                     f"{r['p90_ms']:.2f} | {r['size_kib']:.0f} | {mem} |")
    return "\n".join(lines) + "\n"


def write_benchmark(rows: Sequence[dict], out_dir: Path, title: str) -> Path:
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "benchmark.json", json.dumps(list(rows), indent=2))
    atomic_write_text(out_dir / "benchmark.md", markdown(rows, title))
    return out_dir / "benchmark.md"


def resize_model(model, hw: Sequence[int], config):
    """The float model rebuilt at input ``hw`` with the same weights (fully convolutional)."""
    from keras_depth.models import build_model_from_config

    m = build_model_from_config(config.model, hw)
    m.set_weights(model.get_weights())
    return m


def resize_qat_model(qat_model, hw: Sequence[int], config, float_model):
    from export.qat import make_qat_model

    q = make_qat_model(resize_model(float_model, hw, config), config.qat.float_layers)
    q.set_weights(qat_model.get_weights())
    return q


def export_at_resolution(config, model, qat_model, hw: Sequence[int], variants: Sequence[str], out_dir: Path,
                         log: Callable[[str], None] = print) -> dict[str, Path]:
    """Re-export ``variants`` at input ``hw`` into ``out_dir``; {variant: path}."""
    import tensorflow as tf

    from export.convert import export_variants, representative_images

    h, w = (int(v) for v in hw)
    m = resize_model(model, (h, w), config)
    q = resize_qat_model(qat_model, (h, w), config, model) if (qat_model is not None and "int8_qat" in variants) else None
    calib = representative_images(config, config.export.representative_samples)
    calib = tf.image.resize(calib, (h, w), antialias=True).numpy().clip(0, 1)
    res = export_variants(config, m, q, out_dir, [v for v in variants if v != "saved_model"], log=log, calib=calib, check=False)
    return {r.variant: r.path for r in res}


def _hw(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
        return h, w
    except ValueError:
        raise UsageError(f"--resolutions: expected HxW like 128x128, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from keras_depth.cli.common import add_config_arguments

    add_config_arguments(parser)
    parser.add_argument("--tflite", action="append", default=[], metavar="PATH",
                        help="a .tflite to time (repeatable; default: OUTPUT_DIR/model_*.tflite)")
    parser.add_argument("--peer", action="append", default=None, metavar="NAME",
                        help="peer model to run in the same process (repeatable; default: export.peers)")
    parser.add_argument("--resolutions", help="comma-separated HxW to re-export the run's model at "
                        "(default: export.benchmark_resolutions)")
    parser.add_argument("--variants", help="variants to re-export per resolution (default: export.variants)")
    parser.add_argument("--threads", help="comma-separated thread counts (default: export.benchmark_threads)")
    parser.add_argument("--runs", type=int, help="timed invokes per model (default: export.benchmark_runs)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--out", help="folder for benchmark.{md,json} (default: OUTPUT_DIR/benchmark)")


def run(args: argparse.Namespace) -> int:
    from export.manifest import read_manifest
    from export.peers import peer_path
    from keras_depth.cli.common import config_from_args as load_config_from_args

    config = load_config_from_args(args)
    e = config.export
    src = Path(config.output_dir)
    out = Path(args.out) if args.out else src / "benchmark"
    threads = [int(t) for t in args.threads.split(",")] if args.threads else [int(t) for t in e.benchmark_threads]
    if not threads or any(t < 1 for t in threads):
        raise UsageError(f"--threads: expected positive integers, got {threads}")
    runs = args.runs or e.benchmark_runs
    tflites = [Path(p) for p in args.tflite] or sorted(src.glob("model_*.tflite"))
    models: dict[str, Path] = {}
    for p in tflites:
        models[f"{read_manifest(p).variant} ({p.parent.name})"] = p
    resolutions = [_hw(r) for r in args.resolutions.split(",")] if args.resolutions else [tuple(r) for r in e.benchmark_resolutions]
    if resolutions:
        from export.qat import load_qat_model
        from keras_depth.training.trainer import load_trained_model

        variants = args.variants.split(",") if args.variants else list(e.variants)
        model = load_trained_model(src / "model.keras")
        qat = load_qat_model(src / "model_qat.h5") if "int8_qat" in variants else None
        for hw in resolutions:
            d = out / f"model_{hw[0]}x{hw[1]}"
            print(f"exporting {variants} at {hw[0]}x{hw[1]} into {d}")
            for v, p in export_at_resolution(config, model, qat, hw, variants, d).items():
                models[f"{v} ({hw[0]}x{hw[1]})"] = p
    for name in (args.peer if args.peer is not None else e.peers):
        models[f"peer {name}"] = peer_path(name)
    if not models:
        raise UsageError(f"benchmark: no model to time (no --tflite, none in {src}, no peers)")
    print(f"timing {len(models)} models x threads {threads}, {runs} runs each")
    rows = benchmark_models(models, threads, runs, memory=not args.no_memory)
    path = write_benchmark(rows, out, f"{config.name}: latency, size and memory")
    print(f"benchmark: {path}")
    return 0
