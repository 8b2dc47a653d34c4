"""``make bench``: every benchmark script, one after the other (never two TensorFlow jobs at once,
which inflates timings on a 2-core machine), with the machine and its load printed at the top.
The printed figures are also written to ``docs/benchmarks.md``.

    .venv/bin/python benchmarks/run_all.py            # the full run
    .venv/bin/python benchmarks/run_all.py --quick    # smaller sizes, a few minutes
    .venv/bin/python benchmarks/run_all.py --only bench_models,bench_synthetic
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# name -> (full-run arguments, quick-run arguments); each script prints its own figures.
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "bench_synthetic": ([], ["--frames", "100"]),
    # step time, images/s and fraction of the conv3x3 peak, before/after the speed levers; op profile
    "bench_training": ([], ["--quick"]),
    "bench_input_pipeline": ([], ["--images", "96", "--model-steps", "3", "--short-side", "0"]),
    "bench_models": ([], ["--presets", "tiny_unet_half,unet_mobilenetv2", "--runs", "20"]),
    "bench_upsampling": (["--out", ""], ["--epochs", "1", "--train", "64", "--val", "8", "--out", ""]),
    # SIGKILLs during training, re-run until done (writes its section of docs/reliability.md); ~25 min
    "chaos_train": ([], ["--runs", "2", "--kills", "2", "--doc", ""]),
}


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes: a few minutes in all")
    ap.add_argument("--only", help="comma-separated benchmark names (default: all)")
    ap.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"), help="markdown file to write ('' for none)")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"error: --only: unknown benchmark(s) {unknown} (expected: {', '.join(BENCHMARKS)})", file=sys.stderr)
        return 2
    header = (f"# Benchmarks ({'quick' if args.quick else 'full'} run, "
              f"{datetime.datetime.now().isoformat(timespec='minutes')})\n\nMachine: {machine_line()}\n")
    print(header, flush=True)
    sections, failed = [header], []
    for name in names:
        extra = BENCHMARKS[name][1 if args.quick else 0]
        cmd = [sys.executable, str(HERE / f"{name}.py"), *extra]
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        t = time.time()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        out = proc.stdout + (proc.stderr if proc.returncode else "")
        print(out, flush=True)
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        if proc.returncode:
            failed.append(name)
        sections.append(f"## {name} ({status}, {time.time() - t:.0f} s, load after: {os.getloadavg()[0]:.2f})\n\n"
                        f"`{' '.join([Path(cmd[1]).relative_to(REPO).as_posix(), *extra])}`\n\n```\n{out.strip()}\n```\n")
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
