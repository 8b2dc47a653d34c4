"""The preset table of docs/models.md, generated from the code (``keras-depth models``).

For every preset: parameters; MACs at ``size``; float32 and int8 (full-integer PTQ, a few random
calibration images) TFLite sizes from real conversions at ``latency_size``; int8 latency (median,
``keras_depth.runtime.latency``) measured round-robin with the FastDepth int8 peer in the same
process, so that the ratio holds on a shared, noisy machine.

Conversions are slow, so each preset's TFLite files are cached under ``cache`` keyed by the preset's
arguments and the model code; a subset of presets converts only those, and a later full run reuses
them and re-measures every latency together.
"""
from __future__ import annotations

import hashlib
import json
import platform
import time
from pathlib import Path
from typing import Callable, Optional

import ai_edge_litert
import numpy as np

import keras_depth.models as models_package
from export.converters import convert_float32
from export.ptq import convert_int8_ptq
from keras_depth.kerasapi import keras
from keras_depth.models import build_model, preset_defaults
from keras_depth.models.macs import count_macs
from keras_depth.runtime.latency import measure_latency

# Measured sections that other scripts write into the same page (benchmarks/bench_upsampling.py)
# start here and are kept as they are: the table is regenerated above them.
KEPT_SECTION = "<!-- begin: benchmarks/bench_upsampling.py"
PEER_KEY = "__peer__"


def _code_hash() -> str:
    h = hashlib.sha256()
    for p in sorted(Path(models_package.__file__).parent.glob("*.py")):
        if p.name != "cli.py":  # the table's old home; kept out so that existing cache keys still match
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


def convert_preset(name: str, size: int, cache: Path, convert: bool = True) -> Optional[dict]:
    """float32 and int8-PTQ TFLite files of preset ``name`` at ``size``x``size`` (cached; None when not
    cached and ``convert`` is False)."""
    key = hashlib.sha256(json.dumps([name, size, repr(preset_defaults(name)), _code_hash()]).encode()).hexdigest()[:12]
    d = Path(cache) / f"{name}_{size}_{key}"
    f32, i8 = d / "float32.tflite", d / "int8.tflite"
    if not (f32.is_file() and i8.is_file()):
        if not convert:
            return None
        model = build_model(name, (size, size, 3))
        rng = np.random.default_rng(0)
        shapes = [tuple(int(v) for v in t.shape[1:]) for t in model.inputs]

        def representative():
            for _ in range(4):
                xs = [rng.random((1, *s), dtype=np.float32) for s in shapes]
                yield xs  # one batch per input; convert_int8_ptq takes one or several

        d.mkdir(parents=True, exist_ok=True)
        f32.write_bytes(convert_float32(model))  # static [1, h, w, 3] inputs, one or two (demon_pair)
        i8.write_bytes(convert_int8_ptq(model, representative))
    return {"float32": f32, "int8": i8}


def build_rows(presets: list[str], size: int, latency_size: int, threads: int, runs: int, cache: Path,
               peer: Optional[Path], quick: bool, log: Callable[[str], None] = print,
               cached_only: bool = False) -> tuple[list[dict], Optional[float]]:
    """One row per preset (params, MACs, TFLite sizes, int8 ms and its ratio to the peer) and the peer's ms."""
    rows, files = [], {}
    for name in presets:
        t = time.time()
        model = build_model(name, (size, size, 3))
        row = {"preset": name, "params": model.count_params(), "macs": count_macs(model)}
        keras.backend.clear_session()
        converted = None if quick else convert_preset(name, latency_size, cache, convert=not cached_only)
        if converted is not None:
            files[name] = converted
            row["float32_kib"] = files[name]["float32"].stat().st_size / 1024
            row["int8_kib"] = files[name]["int8"].stat().st_size / 1024
        rows.append(row)
        log(f"  {name}: {time.time() - t:.0f} s")
    peer_ms = None
    if not quick:
        models = {n: f["int8"] for n, f in files.items()}
        if peer is not None:
            models[PEER_KEY] = peer
        lat = {k: v["median_ms"] for k, v in measure_latency(models, threads, runs).items()}
        peer_ms = lat.pop(PEER_KEY, None)
        for row in (r for r in rows if r["preset"] in lat):
            row["int8_ms"] = lat[row["preset"]]
            row["vs_peer"] = lat[row["preset"]] / peer_ms if peer_ms else None
    return rows, peer_ms


def render_table(rows: list[dict], size: int, latency_size: int, threads: int, peer_ms: Optional[float],
                 peer: Optional[Path] = None) -> str:
    head = ["preset", "params", f"MACs @{size}", f"float32 TFLite @{latency_size}", f"int8 TFLite @{latency_size}",
            f"int8 latency @{latency_size}, {threads} threads", "latency / FastDepth peer"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"`{r['preset']}`", f"{r['params'] / 1e6:.3f} M", f"{r['macs'] / 1e6:.1f} M"]
        cells += [f"{r['float32_kib']:.0f} KiB", f"{r['int8_kib']:.0f} KiB"] if "int8_kib" in r else ["-", "-"]
        cells += [f"{r['int8_ms']:.2f} ms", f"{r['vs_peer']:.2f}" if r.get("vs_peer") else "-"] if "int8_ms" in r else ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    if peer_ms and peer is not None:
        lines.append(f"| FastDepth int8 peer (`{peer.name}`) | - | - | - | {peer.stat().st_size / 1024:.0f} KiB | {peer_ms:.2f} ms | 1.00 |")
    return "\n".join(lines)


def models_doc(table: str, rows: list[dict], size: int, latency_size: int, threads: int, runs: int, seconds: float,
               quick: bool, cached_only: bool, previous: str = "") -> str:
    """The whole docs/models.md page: the method, ``table``, and the kept sections of ``previous``."""
    missing = [r["preset"] for r in rows if "int8_kib" not in r]
    doc = (
        "# Model presets\n\n"
        "Generated by `keras-depth models` (keras_depth/cli/models.py, export/preset_table.py) from the registered "
        "presets; do not edit by hand.\n\n"
        f"Parameters and MACs (conv, depthwise and dense layers: output H x W x kernel area x Cin x Cout / groups) at "
        f"{size}x{size}. TFLite sizes from real conversions at {latency_size}x{latency_size} "
        "(float32; int8 = full-integer PTQ with uint8 input and output, 4 random calibration images). "
        f"Latency: median of {runs} invocations with ai-edge-litert {getattr(ai_edge_litert, '__version__', '')} "
        f"(XNNPACK), {threads} threads, random uint8 input, on this machine ({platform.machine()}, "
        "2 cores shared with other jobs, so absolute times are noisy); every model and the FastDepth peer were "
        "timed round-robin in the same process, so the last column is the figure to compare.\n\n"
        f"{table}\n\n"
        f"Generated in {seconds:.0f} s{' (--quick: no conversion or latency)' if quick else ''}"
        f"{' (--cached-only: conversions reused from earlier runs, not timed here)' if cached_only else ''}"
        f"{'' if quick or not missing else '; not converted yet (--cached-only): ' + ', '.join(missing)}.\n"
    )
    if KEPT_SECTION in previous:
        doc += "\n" + previous[previous.index(KEPT_SECTION):]
    return doc
