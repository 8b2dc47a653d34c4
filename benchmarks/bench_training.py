"""Training speed: step time, images/s and the fraction of the machine's conv3x3 peak of today's
default (float32, one step per call, no XLA) and of each lever (``train.precision``,
``train.jit_compile``, ``train.steps_per_execution``), for the default model and two other presets;
oneDNN's kernels on (TensorFlow's x86 default) against off, in alternated child processes; a profile
of one training step by op type; the peak RSS of a short real training run.

    .venv/bin/python -m benchmarks.bench_training              # the full run (~20 min: XLA compiles, bf16 emulated)
    .venv/bin/python -m benchmarks.bench_training --quick      # < 2 min
    .venv/bin/python -m benchmarks.bench_training --device gpu --steps 60   # benchmarks/gpu_check.sh

Variants are timed interleaved in one process (round-robin over ``--rounds``), on one fixed batch
(so the input pipeline is not what is timed; bench_input_pipeline.py compares the two). FLOPs of a
step = 3 x forward MACs x 2 x batch (the backward pass is about twice the forward). Figures are
printed, not asserted.

``--device gpu`` (the GPU check) instead runs the real ``keras_depth.training.trainer.train`` on the
quickstart config for a fixed number of steps in float32, in mixed precision and with XLA, and
prints images/s and the fraction of the GPU's measured matmul peak; on a CPU (``--device cpu
--check``) the same code path is the smoke test ``tests/test_gpu_check.py``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras_depth  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from benchmarks import REPO
from benchmarks.machine_peak import measure_peaks, peaks_table
from benchmarks.training_profile import op_type_table, profile_step, roofline_bound
from keras_depth.kerasapi import keras

QUICKSTART = REPO / "keras_depth" / "configs" / "quickstart.yaml"
PRESETS = ("unet_mobilenetv2", "unet_mobilenetv3small", "nnconv5_mobilenetv2")
# (label, precision, jit_compile, steps_per_execution); BEFORE is the default (onednn_ab: the kernels).
BEFORE = ("float32 (the default)", "float32", False, 1)
BF16 = ("mixed_bfloat16", "mixed_bfloat16", False, 1)
CANDIDATES = [
    BEFORE,
    BF16,
    ("float32, 4 steps/execution", "float32", False, 4),
    ("float32 + XLA", "float32", True, 1),
    ("mixed_bfloat16 + XLA", "mixed_bfloat16", True, 1),
]


def _config(preset: str, overrides: tuple = (), size: int = 0, train_count: int = 0, val_count: int = 0):
    """The quickstart config on ``preset``, with ``--set`` style overrides and smaller data."""
    from keras_depth.config import config_from_dict, load_config

    params = [] if preset == "unet_mobilenetv2" else [f"model.name={preset}", "model.params={}"]
    data = load_config(QUICKSTART, [*params, *overrides]).to_dict()
    if preset != "unet_mobilenetv2":  # a --set of {} merges into the quickstart's params: clear them
        data["model"]["params"] = {}
    for split, count in (("train", train_count), ("val", val_count)):
        for entry in data["data"][split]:
            entry.update({"count": count} if count else {})
            entry.update({"height": size, "width": size} if size else {})
    if size:
        data["data"]["image_size"] = [size, size]
    return config_from_dict(data)


def _fit_model(preset: str, precision: str, jit_compile: bool, steps_per_execution: int):
    """(inference model, the model ``fit`` trains) of ``preset``'s config with these settings, built and
    compiled by what ``train`` builds and compiles them with."""
    from keras_depth.training.precision import precision_policy
    from keras_depth.training.trainer import build_fit_model, steps_per_epoch

    config = _config(preset, (f"train.precision={precision}", f"train.jit_compile={str(jit_compile).lower()}",
                              f"train.steps_per_execution={steps_per_execution}"))
    with precision_policy():  # float32 again afterwards, as after train
        return build_fit_model(config, steps_per_epoch(config, "train", config.train.steps_per_epoch))


def _batch(config):
    import tensorflow as tf

    from keras_depth.data.pipeline import make_dataset

    small = _config(config.model.name, (f"data.cache_dir={tempfile.mkdtemp(prefix='bench_training_')}",),
                    train_count=16, val_count=8)
    x, y = next(iter(make_dataset(small, "train")))
    return tf.data.Dataset.from_tensors((x, y)).repeat(), int(x.shape[0])


class BatchTimer(keras.callbacks.Callback):
    """Appends each executed batch's wall time to ``out``. Timing whole fit() calls instead gave
    multiples of 256 ms a step for every model (5.12 s per 20-step call), whatever its MACs, against
    145 ms per batch measured this way: fit() ends on a wait that does not track the work."""

    def __init__(self, out: list):
        super().__init__()
        self.out = out

    def on_train_batch_begin(self, batch, logs=None):
        self.t = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.out.append(time.perf_counter() - self.t)


def time_variants(preset: str, variants: list, steps: int, rounds: int) -> list[dict]:
    """Median ms per step of each variant, timed round-robin; FLOPs from the model's MACs."""
    import numpy as np

    from keras_depth.models.macs import count_macs

    config = _config(preset)
    data, batch = _batch(config)
    fits = []
    for label, precision, xla, spe in variants:
        model, fit = _fit_model(preset, precision, xla, spe)
        fit.fit(data, steps_per_epoch=2 * spe, epochs=1, verbose=0)  # trace and compile
        fits.append(fit)
    macs = count_macs(model)
    times: list[list[float]] = [[] for _ in variants]
    for _ in range(rounds):
        for i, fit in enumerate(fits):
            spe = variants[i][3]
            n = steps - steps % spe or spe
            batch_times: list[float] = []
            fit.fit(data, steps_per_epoch=n, epochs=1, verbose=0, callbacks=[BatchTimer(batch_times)])
            times[i].append(float(np.median(batch_times)) / spe)  # a batch hook spans steps_per_execution steps
    rows = []
    for (label, precision, xla, spe), ts in zip(variants, times):
        sec = float(np.median(ts))
        rows.append({"preset": preset, "variant": label, "precision": precision, "jit_compile": xla,
                     "steps_per_execution": spe, "ms_per_step": 1000 * sec, "images_per_s": batch / sec,
                     "gflops": 3 * macs * 2 * batch / sec / 1e9, "forward_mmacs": macs / 1e6,
                     "spread_ms": 1000 * (max(ts) - min(ts))})
    return rows


def onednn_ab(pairs: int, steps: int) -> list[dict]:
    """Step time of the default model with TensorFlow's oneDNN kernels on (its x86 default) and off
    (``TF_ENABLE_ONEDNN_OPTS=0``: Eigen's kernels). The switch is read when TensorFlow loads, so each
    side is a child process, alternated ``pairs`` times."""
    import numpy as np

    times: dict[str, list[float]] = {"1": [], "0": []}
    for _ in range(pairs):
        for flag in times:
            env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=flag)
            cmd = [sys.executable, "-m", "benchmarks.bench_training", "--child-step", "--steps", str(steps)]
            out = subprocess.run(cmd, env=env, cwd=REPO, check=True, capture_output=True, text=True).stdout
            times[flag].append(json.loads(out.strip().splitlines()[-1])["ms_per_step"])
    on, off = float(np.median(times["1"])), float(np.median(times["0"]))
    print(f"### oneDNN on and off (default model, float32; median of {pairs} alternated child processes)\n")
    print("| kernels | ms/step | runs (ms) |\n|---|---:|---|")
    print(f"| oneDNN on (TensorFlow's x86 default, and ours) | {on:.1f} | {', '.join(f'{t:.0f}' for t in times['1'])} |")
    print(f"| oneDNN off (TF_ENABLE_ONEDNN_OPTS=0) | {off:.1f} | {', '.join(f'{t:.0f}' for t in times['0'])} |")
    print(f"\noff / on: {off / on:.2f}x the step time\n")
    return [{"variant": f"oneDNN {'on' if flag == '1' else 'off'}", "ms_per_step": float(np.median(ts)), "runs_ms": ts}
            for flag, ts in times.items()]


def training_rss_mb(steps: int) -> float:
    """Peak RSS (MB) of a real ``keras-depth train`` of the quickstart config for ``steps`` steps."""
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        config = _config("unet_mobilenetv2", ("train.epochs=1", f"train.steps_per_epoch={steps}", "train.precise_bn_batches=0",
                                             f"data.cache_dir={tmp}/cache", "train.verbose=0", f"output_dir={tmp}/run"),
                         train_count=64, val_count=16)
        Path(tmp, "config.yaml").write_text(yaml.safe_dump(config.to_dict()))
        cmd = [sys.executable, "-m", "keras_depth.cli", "train", f"{tmp}/config.yaml"]
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def cpu_report(args) -> list[dict]:
    peaks = measure_peaks("cpu", ("float32", "bfloat16"), seconds=0.5 if args.quick else 1.0)
    print(f"### Machine peak (TensorFlow, this process; CPU vector flags: {cpu_flags()})\n")
    print(peaks_table(peaks) + "\n")
    conv32, conv16 = peaks[("conv3x3", "float32")], peaks.get(("conv3x3", "bfloat16"))
    presets = args.presets.split(",")
    rows: list[dict] = []
    for preset in presets:
        variants = [BEFORE, BF16] if preset != presets[0] else (
            CANDIDATES[:3] if args.quick else CANDIDATES)  # XLA compiles for minutes on CPU: full run only
        rows += time_variants(preset, variants, args.steps, args.rounds)
    print(f"### Training step, batch 8 at 96x96 (median of {args.rounds} interleaved rounds of {args.steps} steps)\n")
    print("| model | variant | ms/step | images/s | GFLOP/s | of fp32 conv peak | of own-dtype conv peak |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        own = conv16 if r["precision"] == "mixed_bfloat16" and conv16 else conv32
        print(f"| {r['preset']} ({r['forward_mmacs']:.1f} M MACs) | {r['variant']} | {r['ms_per_step']:.1f} "
              f"(spread {r['spread_ms']:.1f}) | {r['images_per_s']:.0f} | {r['gflops']:.1f} | "
              f"{100 * r['gflops'] / conv32:.0f} % | {100 * r['gflops'] / own:.0f} % |")
    print()
    if args.onednn_pairs:
        rows += onednn_ab(args.onednn_pairs, args.steps)
    if args.profile_steps:
        print("### Where a training step's time goes (default model, float32, TF profiler; op types by total time)\n")
        data, _ = _batch(_config(presets[0]))
        _, fit = _fit_model(presets[0], "float32", False, 1)
        totals = profile_step(fit, data, args.profile_steps)
        print(op_type_table(totals, conv32))
        first = rows[0]  # the default model's default variant
        gflop = first["gflops"] * first["ms_per_step"] / 1000
        least_ms, bound = roofline_bound(totals, gflop, conv32, os.cpu_count() or 1)
        print(f"\nRoofline bound: a step's {gflop:.2f} GFLOP take {1000 * gflop / conv32:.1f} ms at the conv3x3 peak; "
              f"with the other ops as measured (spread over {os.cpu_count()} threads) a step takes at least "
              f"{least_ms:.1f} ms, so training reaches at most {100 * bound:.0f} % of the conv peak on this model "
              f"(issue 16's target: 35 %; measured: {100 * first['gflops'] / conv32:.0f} %).")
        print()
    if args.rss_steps:
        print(f"Peak RSS of a real `keras-depth train` (quickstart config, {args.rss_steps} steps, float32): "
              f"{training_rss_mb(args.rss_steps):.0f} MB\n")
    return rows




def cpu_flags() -> str:
    """The CPU's 16-bit and wide-vector instructions: bf16 runs natively only with avx512_bf16 or AMX."""
    try:
        flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    wanted = [f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma", "f16c")]
    return " ".join(wanted) or "none of avx2/avx512/amx"


def gpu_check(args) -> list[dict]:
    """The real trainer for ``--steps`` steps per variant: float32, mixed precision, XLA."""
    import numpy as np
    import tensorflow as tf

    from keras_depth.models.io import load_trained_model
    from keras_depth.training.trainer import train

    device = args.device
    dtypes = ("float32", "float16", "bfloat16") if device == "gpu" else ("float32", "bfloat16")
    peaks = measure_peaks(device, dtypes, seconds=0.1 if args.check else 1.0)
    print(f"devices: {[d.name for d in tf.config.list_physical_devices()]}")
    print(peaks_table(peaks) + "\n")
    mixed = "mixed_float16" if device == "gpu" else "mixed_bfloat16"
    variants = [("float32", "float32", False), (mixed, mixed, False), ("float32 + XLA", "float32", True),
                (f"{mixed} + XLA", mixed, True)]
    if device == "gpu":
        variants.append(("mixed_bfloat16", "mixed_bfloat16", False))
    if args.check:  # the smoke test: the one variant that takes every special path
        variants = [variants[-1]]
    size = 32 if args.check else 96
    rows = []
    for label, precision, xla in variants:
        times: list[float] = []
        seen: dict = {}

        class Timer(BatchTimer):
            def on_train_batch_end(self, batch, logs=None):
                super().on_train_batch_end(batch, logs)
                seen["loss"] = float(logs["loss"])
                conv = next(l for l in self.model.layers if isinstance(l, keras.layers.Conv2D))
                seen["compute_dtype"], seen["variable_dtype"] = conv.compute_dtype, conv.variable_dtype
                seen["output_dtype"] = self.model.outputs[0].dtype.name
                seen["xla"] = getattr(getattr(self.model, "_xla_step", None), "_jit_compile", False)

        with tempfile.TemporaryDirectory() as tmp:
            config = _config(args.presets.split(",")[0], (
                "train.epochs=1", f"train.steps_per_epoch={args.steps}", "train.precise_bn_batches=0",
                f"train.precision={precision}", f"train.jit_compile={str(xla).lower()}", f"output_dir={tmp}/run",
                f"data.cache_dir={tmp}/cache", "train.verbose=0", "train.tensorboard_images=1"),
                size=size, train_count=32, val_count=8)
            result = train(config, resume=False, extra_callbacks=[Timer(times)])
            saved = load_trained_model(result.model_path)
            saved_dtypes = sorted({l.dtype for l in saved.layers if l.weights})
        warm = times[min(3, len(times) - 1):]
        sec = float(np.median(warm))
        flops = 3 * 2 * _macs(config) * config.data.batch_size / sec
        peak = peaks.get(("matmul", "float32" if precision == "float32" else precision.split("_")[1]))
        row = {"variant": label, "precision": precision, "jit_compile": xla, "ms_per_step": 1000 * sec,
               "images_per_s": config.data.batch_size / sec, "gflops": flops / 1e9,
               "peak_fraction": flops / 1e9 / peak if peak else None, "saved_dtypes": saved_dtypes,
               "policy_after": keras.mixed_precision.global_policy().name, **seen}
        rows.append(row)
        frac = f"{100 * row['peak_fraction']:.1f} %" if peak else "-"
        print(f"| {label} | {row['ms_per_step']:.1f} ms/step | {row['images_per_s']:.0f} images/s | "
              f"{row['gflops']:.0f} GFLOP/s | {frac} of matmul peak | layers compute {seen['compute_dtype']} | "
              f"loss {seen['loss']:.3f} | saved {saved_dtypes} |", flush=True)
    return rows


def _macs(config) -> int:
    from keras_depth.models import build_model_from_config
    from keras_depth.models.macs import count_macs

    return count_macs(build_model_from_config(config.model, config.data.image_size))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the default model only, no XLA, no RSS run: < 2 min")
    ap.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--check", action="store_true", help="the GPU check's code path on this device (tiny, a few steps)")
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--steps", type=int, default=None, help="timed steps per round (per variant in --device gpu)")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--profile-steps", type=int, default=None, help="steps in the profile (0: no profile)")
    ap.add_argument("--rss-steps", type=int, default=None, help="steps of the RSS run (0: none)")
    ap.add_argument("--onednn-pairs", type=int, default=None, help="oneDNN on/off child-process pairs (0: none)")
    ap.add_argument("--child-step", action="store_true", help=argparse.SUPPRESS)  # one onednn_ab measurement
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    if args.child_step:
        row = time_variants(PRESETS[0], [BEFORE], args.steps or 20, 2)[0]
        print(json.dumps({"ms_per_step": row["ms_per_step"]}))
        return 0
    quick = args.quick
    args.steps = args.steps or (6 if args.check else 60 if args.device == "gpu" else 6 if quick else 20)
    args.rounds = args.rounds or (2 if quick else 5)
    args.profile_steps = 5 if args.profile_steps is None and not args.check else (args.profile_steps or 0)
    args.rss_steps = (0 if quick else 30) if args.rss_steps is None else args.rss_steps
    args.onednn_pairs = (0 if quick else 3) if args.onednn_pairs is None else args.onednn_pairs
    if quick and args.presets == ",".join(PRESETS):
        args.presets = PRESETS[0]
    rows = gpu_check(args) if args.device == "gpu" or args.check else cpu_report(args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
