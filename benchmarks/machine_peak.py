"""The machine's measured peak: GFLOP/s of a large matmul and of a 3x3 convolution, in float32 and
bfloat16 (and float16 on a GPU), through TensorFlow on this process's devices.

    .venv/bin/python -m benchmarks.machine_peak            # prints the table
    from benchmarks.machine_peak import measure_peaks     # {("conv3x3", "float32"): GFLOP/s, ...}

A training step's "fraction of peak" divides its FLOP/s by the conv3x3 figure of the same dtype: a
3x3 convolution of a mid-size feature map is the best case that the convolutions of our models reach.
"""
from __future__ import annotations

import argparse
import sys
import time

import keras_depth  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)

# (what, shape): matmul n x n x n; conv3x3 batch 8, 48x48, 64 -> 64 channels (a decoder-sized layer).
MATMUL_N = {"cpu": 1024, "gpu": 8192}
CONV = {"cpu": (8, 48, 48, 64, 64), "gpu": (64, 96, 96, 128, 128)}


def _time(fn, seconds: float) -> float:
    """Median seconds per call of ``fn`` over about ``seconds`` of calls (after two warm-up calls)."""
    for _ in range(2):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def measure_peaks(device: str = "cpu", dtypes: tuple = ("float32", "bfloat16"), seconds: float = 1.0) -> dict:
    """{(kind, dtype): GFLOP/s} for kind in (matmul, conv3x3); a dtype the device cannot run is left out."""
    import tensorflow as tf

    n = MATMUL_N[device]
    b, h, w, cin, cout = CONV[device]
    out: dict = {}
    for dtype in dtypes:
        dt = tf.as_dtype(dtype)
        a = tf.cast(tf.random.normal((n, n)), dt)
        x = tf.cast(tf.random.normal((b, h, w, cin)), dt)
        k = tf.cast(tf.random.normal((3, 3, cin, cout)) * 0.05, dt)
        matmul = tf.function(lambda: tf.reduce_sum(tf.cast(tf.matmul(a, a)[:1, :1], tf.float32)))
        conv = tf.function(lambda: tf.reduce_sum(tf.cast(tf.nn.conv2d(x, k, 1, "SAME")[:1, :1, :1, :1], tf.float32)))
        try:
            out[("matmul", dtype)] = 2 * n ** 3 / _time(lambda: matmul().numpy(), seconds) / 1e9
            out[("conv3x3", dtype)] = 2 * b * h * w * 9 * cin * cout / _time(lambda: conv().numpy(), seconds) / 1e9
        except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, tf.errors.NotFoundError):
            continue  # no kernel for this dtype on this device
    return out


def peaks_table(peaks: dict) -> str:
    dtypes = sorted({d for _, d in peaks}, key=lambda d: ("float32", "bfloat16", "float16").index(d))
    n = MATMUL_N["cpu"]
    lines = ["| GFLOP/s | " + " | ".join(dtypes) + " |", "|---|" + "---:|" * len(dtypes)]
    for kind in ("matmul", "conv3x3"):
        cells = [f"{peaks[(kind, d)]:.0f}" if (kind, d) in peaks else "-" for d in dtypes]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n(matmul {n}x{n}x{n} on CPU; conv3x3 batch {CONV['cpu'][0]}, {CONV['cpu'][1]}x{CONV['cpu'][2]}, " \
                              f"{CONV['cpu'][3]}->{CONV['cpu'][4]} channels on CPU; median of ~1 s of calls)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--seconds", type=float, default=1.0, help="timing per figure")
    args = ap.parse_args(argv)
    dtypes = ("float32", "bfloat16", "float16") if args.device == "gpu" else ("float32", "bfloat16")
    print(peaks_table(measure_peaks(args.device, dtypes, args.seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
