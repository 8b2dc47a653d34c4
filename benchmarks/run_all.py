"""``make bench``: every benchmark module, one after the other (never two TensorFlow jobs at once,
which inflates timings on a 2-core machine), with the machine and its load printed at the top.
The printed figures are also written to ``docs/benchmarks.md`` as a report: a script whose stdout
starts with the line ``<!-- output: markdown -->`` prints markdown (tables, image links into
``docs/img/``), which goes in as is; any other script's output goes in a code block.

    .venv/bin/python -m benchmarks.run_all            # the full run
    .venv/bin/python -m benchmarks.run_all --quick    # smaller sizes, a few minutes
    .venv/bin/python -m benchmarks.run_all --only bench_models,bench_synthetic

Each benchmark runs in its own process, ``python -m benchmarks.NAME``, from the repository root.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import REPO
from benchmarks.doc_sections import MARKDOWN

# name -> (full-run arguments, quick-run arguments); each script prints its own figures.
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "bench_synthetic": ([], ["--frames", "100"]),
    # step time, images/s and fraction of the conv3x3 peak, before/after the speed levers; op profile
    "bench_training": (["--rounds", "3"], ["--quick"]),  # 3 rounds: bf16 is emulated (2 s/step) on AVX2-only CPUs
    "bench_input_pipeline": ([], ["--images", "96", "--model-steps", "3"]),
    "bench_models": ([], ["--presets", "tiny_unet_half,unet_mobilenetv2", "--runs", "20"]),
    "bench_upsampling": (["--out", ""], ["--epochs", "1", "--train", "64", "--val", "8", "--out", ""]),
    # int8 latency at 128/224/320 px of the quickstart model (runs/quickstart, `make demo`), the smallest
    # preset and both peers, with the two plots in docs/img/
    "bench_latency": ([], ["--quick"]),
    # keras-depth predict on 640x480 photos with the shipped model, against the runtime in a plain loop
    "bench_predict": ([], ["--images", "8", "--doc", ""]),
    # edge-aware (guided-filter) upsampling against bilinear on the real frames: kept out of predict unless it helps
    "bench_refine": ([], ["--radii", "8", "--doc", ""]),
    # SIGKILLs during training, re-run until done; docs/reliability.md keeps the catalogue's longer run
    # (`--doc ''`). Opt-in (OPT_IN): a reliability check, not a speed figure, and ~10 min of 3 x 3 kills
    "chaos_train": (["--runs", "3", "--kills", "3", "--doc", ""], ["--runs", "2", "--kills", "2", "--doc", ""]),
}
OPT_IN = ("chaos_train",)  # run only when named in --only
PEAK = "machine_peak"  # benchmarks.machine_peak, when present: fp32 matmul and conv3x3 peaks, at the top


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{cpu}; {os.cpu_count()} cores; load average {load}; Python {platform.python_version()}"


def section_body(stdout: str) -> str:
    """A script's stdout for the report: as is after a first line ``MARKDOWN``, else in a code block."""
    text = stdout.strip()
    if text.startswith(MARKDOWN):
        return text[len(MARKDOWN):].strip() + "\n"
    return f"```\n{text}\n```\n"


def default_names() -> list[str]:
    """What ``make bench`` runs without --only: every benchmark but the opt-in ones."""
    return [n for n in BENCHMARKS if n not in OPT_IN]


def has_machine_peak() -> bool:
    return importlib.util.find_spec(f"benchmarks.{PEAK}") is not None


def command(name: str, extra: list[str]) -> str:
    """The line that runs benchmark ``name`` by hand, as the report shows it."""
    return " ".join(["python", "-m", f"benchmarks.{name}", *extra])


def run_script(name: str, extra: list[str]) -> tuple[str, int, float]:
    """(stdout, plus stderr when it failed; exit code; seconds) of ``python -m benchmarks.NAME EXTRA``."""
    cmd = [sys.executable, "-m", f"benchmarks.{name}", *extra]
    print(f"== {name}: {command(name, extra)}", flush=True)
    t = time.time()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    out = proc.stdout + (proc.stderr if proc.returncode else "")
    print(out, flush=True)
    return out, proc.returncode, time.time() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes: a few minutes in all")
    ap.add_argument("--only", help=f"comma-separated benchmark names (default: all but {', '.join(OPT_IN)})")
    ap.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"), help="markdown file to write ('' for none)")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else default_names()
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"error: --only: unknown benchmark(s) {unknown} (expected: {', '.join(BENCHMARKS)})", file=sys.stderr)
        return 2
    header = (f"# Benchmarks ({'quick' if args.quick else 'full'} run, "
              f"{datetime.datetime.now().isoformat(timespec='minutes')})\n\nMachine: {machine_line()}\n")
    print(header, flush=True)
    sections, failed = [header], []
    if not args.only and has_machine_peak():  # once, at the top, even if BENCHMARKS lists it too
        names = [n for n in names if n != PEAK]
        out, rc, _ = run_script(PEAK, [])
        sections.append(f"Machine peak (`{command(PEAK, [])}`):\n\n" + section_body(out))
        if rc:
            failed.append(PEAK)
    for name in names:
        extra = BENCHMARKS[name][1 if args.quick else 0]
        out, rc, seconds = run_script(name, extra)
        status = "ok" if rc == 0 else f"FAILED (exit {rc})"
        if rc:
            failed.append(name)
        sections.append(f"## {name} ({status}, {seconds:.0f} s, load after: {os.getloadavg()[0]:.2f})\n\n"
                        f"`{command(name, extra)}`\n\n{section_body(out)}")
    if args.out:
        from keras_depth.io import atomic_write_text

        atomic_write_text(args.out, "\n".join(sections))
        print(f"wrote {args.out}")
    if failed:
        print(f"error: benchmark(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
