"""``keras-depth models``: the preset table, generated from the code (docs/models.md is its output).

For every preset: parameters; MACs at ``--size``; float32 and int8 (full-integer PTQ, a few random
calibration images) TFLite sizes from real conversions at ``--latency-size``; int8 latency (median of
``--runs`` invocations, ai-edge-litert, ``--threads`` threads, XNNPACK on) at ``--latency-size``,
measured interleaved with the FastDepth int8 peer in the same process so that the ratio holds on a
shared, noisy machine.

Conversions are slow on 2 shared cores, so each preset's TFLite files are cached under ``--cache``
keyed by the preset's arguments and the model code; ``--presets`` converts a subset, and a later full
run reuses them and re-measures every latency together.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from pathlib import Path
from typing import Optional

import numpy as np

KEPT_SECTION = "<!-- begin: benchmarks/bench_upsampling.py"
DEFAULT_PEER = Path(__file__).resolve().parents[2].parent / "shared/anchors/fastdepth_224_int8/fast_depth_224.tflite"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=256, help="input size for parameter and MAC counts (default 256)")
    parser.add_argument("--latency-size", type=int, default=224, help="input size of the converted models (default 224)")
    parser.add_argument("--threads", type=int, default=2, help="interpreter threads for latency (default 2)")
    parser.add_argument("--runs", type=int, default=30, help="timed invocations per model (default 30)")
    parser.add_argument("--presets", help="comma-separated subset (default: all)")
    parser.add_argument("--out", default="docs/models.md", help="markdown file to write (default docs/models.md; '' for none)")
    parser.add_argument("--cache", default="runs/models_table", help="converted models cache (default runs/models_table)")
    parser.add_argument("--peer", default=str(DEFAULT_PEER), help="FastDepth int8 peer .tflite for the latency ratio")
    parser.add_argument("--quick", action="store_true", help="parameters and MACs only: no conversion, no latency")
    parser.add_argument("--cached-only", action="store_true",
                        help="convert nothing: presets without a cached conversion get '-' for sizes and latency")


def _code_hash() -> str:
    h = hashlib.sha256()
    for p in sorted(Path(__file__).parent.glob("*.py")):
        if p.name != "cli.py":
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


def _random_inputs(interpreter, rng: np.random.Generator) -> list:
    return [(d["index"], rng.integers(0, 256, d["shape"], dtype=np.uint8).astype(d["dtype"])) for d in interpreter.get_input_details()]


def convert_preset(name: str, size: int, cache: Path, convert: bool = True) -> Optional[dict]:
    """float32 and int8-PTQ TFLite files of preset ``name`` at ``size``x``size`` (cached; None when not
    cached and ``convert`` is False)."""
    from export.convert import convert_float32, convert_int8_ptq
    from keras_depth.models import build_model, preset_defaults

    key = hashlib.sha256(json.dumps([name, size, repr(preset_defaults(name)), _code_hash()]).encode()).hexdigest()[:12]
    d = cache / f"{name}_{size}_{key}"
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


def measure_latency(models: dict[str, Path | bytes], threads: int, runs: int, warmup: int = 3) -> dict[str, float]:
    """Median ms per invocation of each model, invoked round-robin (one run of each per round) so load
    spikes from other processes hit every model alike."""
    from export.runtime import load_interpreter

    rng = np.random.default_rng(0)
    its = {k: load_interpreter(v, num_threads=threads) for k, v in models.items()}
    feeds = {k: _random_inputs(it, rng) for k, it in its.items()}
    times: dict[str, list[float]] = {k: [] for k in its}
    for r in range(warmup + runs):
        for k, it in its.items():
            for idx, x in feeds[k]:
                it.set_tensor(idx, x)
            t = time.perf_counter()
            it.invoke()
            if r >= warmup:
                times[k].append((time.perf_counter() - t) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def build_rows(presets: list[str], size: int, latency_size: int, threads: int, runs: int, cache: Path,
               peer: Optional[Path], quick: bool, log=print, cached_only: bool = False) -> tuple[list[dict], Optional[float]]:
    from keras_depth.kerasapi import keras
    from keras_depth.models import build_model
    from keras_depth.models.macs import count_macs

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
            models["__peer__"] = peer
        lat = measure_latency(models, threads, runs)
        peer_ms = lat.pop("__peer__", None)
        for row in (r for r in rows if r["preset"] in lat):
            row["int8_ms"] = lat[row["preset"]]
            row["vs_peer"] = lat[row["preset"]] / peer_ms if peer_ms else None
    return rows, peer_ms


def render_table(rows: list[dict], size: int, latency_size: int, threads: int, peer_ms: Optional[float], peer: Optional[Path] = None) -> str:
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


def run(args: argparse.Namespace) -> int:
    from keras_depth.errors import UsageError
    from keras_depth.models import preset_names

    names = preset_names()
    presets = args.presets.split(",") if args.presets else names
    bad = [p for p in presets if p not in names]
    if bad:
        raise UsageError(f"--presets: unknown {bad} (expected some of: {', '.join(names)})")
    peer = Path(args.peer) if args.peer else None
    if peer is not None and not args.quick and not peer.is_file():
        raise UsageError(f"--peer: file not found: {peer}")
    start = time.time()
    rows, peer_ms = build_rows(presets, args.size, args.latency_size, args.threads, args.runs, Path(args.cache), peer, args.quick,
                               cached_only=args.cached_only)
    missing = [r["preset"] for r in rows if "int8_kib" not in r]
    table = render_table(rows, args.size, args.latency_size, args.threads, peer_ms, peer)
    print(table)
    if args.out:
        import platform

        import ai_edge_litert

        doc = (
            "# Model presets\n\n"
            "Generated by `keras-depth models` (keras_depth/models/cli.py) from the registered presets; do not edit by hand.\n\n"
            f"Parameters and MACs (conv, depthwise and dense layers: output H x W x kernel area x Cin x Cout / groups) at "
            f"{args.size}x{args.size}. TFLite sizes from real conversions at {args.latency_size}x{args.latency_size} "
            "(float32; int8 = full-integer PTQ with uint8 input and output, 4 random calibration images). "
            f"Latency: median of {args.runs} invocations with ai-edge-litert {getattr(ai_edge_litert, '__version__', '')} "
            f"(XNNPACK), {args.threads} threads, random uint8 input, on this machine ({platform.machine()}, "
            "2 cores shared with other jobs, so absolute times are noisy); every model and the FastDepth peer were "
            "timed round-robin in the same process, so the last column is the figure to compare.\n\n"
            f"{table}\n\n"
            f"Generated in {time.time() - start:.0f} s{' (--quick: no conversion or latency)' if args.quick else ''}"
            f"{' (--cached-only: conversions reused from earlier runs, not timed here)' if args.cached_only else ''}"
            f"{'' if args.quick or not missing else '; not converted yet (--cached-only): ' + ', '.join(missing)}.\n"
        )
        out = Path(args.out)
        # Measured sections that other scripts write into the same page (benchmarks/bench_upsampling.py)
        # are kept as they are: this command regenerates only the table.
        old = out.read_text() if out.is_file() else ""
        if KEPT_SECTION in old:
            doc += "\n" + old[old.index(KEPT_SECTION):]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(doc)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    import sys

    from keras_depth.cli import OneLineParser

    p = OneLineParser(prog="keras-depth models")
    add_arguments(p)
    sys.exit(run(p.parse_args()))
