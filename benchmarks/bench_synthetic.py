"""Throughput of the synthetic RGB-D renderer, through the real cache builder.

    .venv/bin/python -m benchmarks.bench_synthetic                 # 1000 frames, 256x256, 2 workers
    .venv/bin/python -m benchmarks.bench_synthetic --frames 100    # a quick look

Target (keras-depth issue): 1,000 frames at 256x256 in under 60 s on 2 cores, i.e. >= 17 frames/s.
The figure includes worker start-up and writing the .npy files, as a training run would pay it. It
is printed, not asserted: on shared machines it moves with whatever else is running.
"""
from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

TARGET_FPS = 1000 / 60


def main(argv: Optional[Sequence[str]] = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--size", type=int, default=256, help="height and width in pixels")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kind", choices=("mono", "stereo"), default="mono")
    ap.add_argument("--json", type=Path, help="also write the result here")
    args = ap.parse_args(argv)

    from keras_depth.data.synthetic import build_cache

    def cpu_seconds() -> float:
        return sum(
            r.ru_utime + r.ru_stime
            for r in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
        )

    with tempfile.TemporaryDirectory(prefix="bench_synthetic_") as tmp:
        start, cpu_start = time.perf_counter(), cpu_seconds()
        build_cache(
            tmp, "train", args.frames, args.size, args.size, seed=0, kind=args.kind, workers=args.workers
        )
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    fps = args.frames / seconds
    # CPU time per frame says what the renderer costs even when other jobs share the cores and the
    # wall-clock figure drops; workers / cpu_per_frame is the rate with the cores to ourselves.
    cpu_per_frame = cpu / args.frames
    result = {
        "benchmark": "synthetic_render",
        "kind": args.kind,
        "frames": args.frames,
        "height": args.size,
        "width": args.size,
        "workers": args.workers,
        "seconds": round(seconds, 2),
        "frames_per_s": round(fps, 1),
        "cpu_ms_per_frame": round(1000 * cpu_per_frame, 1),
        "frames_per_s_on_idle_cores": round(args.workers / cpu_per_frame, 1),
        "target_frames_per_s": round(TARGET_FPS, 1),
    }
    verdict = "meets" if fps >= TARGET_FPS else "misses"
    print(
        f"synthetic {args.kind} {args.size}x{args.size}: {args.frames} frames in {seconds:.1f} s = "
        f"{fps:.1f} frames/s with {args.workers} worker(s) ({verdict} the {TARGET_FPS:.1f} frames/s target); "
        f"{1000 * cpu_per_frame:.0f} ms CPU per frame, {args.workers / cpu_per_frame:.1f} frames/s on {args.workers} idle cores"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
