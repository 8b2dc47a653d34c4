"""Where a training step's time goes: a TensorFlow profiler trace of a few steps, summed by op type.

``profile_step(model, data, steps)`` traces ``steps`` steps of ``model.fit`` (tf.profiler.experimental)
and reads the host plane of the XSpace it wrote: every TensorFlow op event is named ``name:Type``;
their durations are summed per type. ``op_type_table`` prints the top types with a roofline class:
a convolution (or its gradient) and a matmul reuse each value they load many times (compute-bound
at the conv3x3 peak); depthwise convolutions, BatchNorm and elementwise ops touch each value a few
times, so they run at the speed of memory, far below the peak, whatever the FLOPs they do.
"""
from __future__ import annotations

import collections
import tempfile
from pathlib import Path

# Op types whose arithmetic intensity is high (FLOPs per byte): these can approach the conv peak.
COMPUTE_BOUND = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "_FusedConv2D", "MatMul", "_MklConv2D",
                 "_MklFusedConv2D", "_MklConv2DBackpropInput", "_MklConv2DBackpropFilter", "BatchMatMulV2")


def roofline_class(op_type: str) -> str:
    if op_type in ("PyFunc", "EagerPyFunc"):
        return "host Python (the numpy training metrics)"
    if op_type.startswith("DepthwiseConv2dNative"):
        return "memory-bound (depthwise: 9 MACs per value loaded)"
    if op_type in COMPUTE_BOUND or "Conv2D" in op_type and "Depthwise" not in op_type:
        return "compute-bound (conv)"
    if "BatchNorm" in op_type:
        return "memory-bound (BatchNorm)"
    if op_type.startswith("Resize") or op_type in ("ConcatV2", "Slice", "Pad", "Transpose"):
        return "memory-bound (data movement)"
    return "memory-bound (elementwise / other)"


def roofline_bound(totals: dict[str, float], step_gflop: float, conv_peak_gflops: float, threads: int) -> tuple[float, float]:
    """(least ms per step, the largest fraction of the conv peak): every conv at the conv3x3 peak, the
    other ops (memory-bound, host Python) as measured and spread evenly over ``threads``."""
    compute_ms = 1000.0 * step_gflop / conv_peak_gflops
    other_ms = sum(ms for op, ms in totals.items() if not roofline_class(op).startswith("compute")) / threads
    return compute_ms + other_ms, compute_ms / (compute_ms + other_ms)


def profile_step(model, data, steps: int) -> dict[str, float]:
    """{op type: total milliseconds} over ``steps`` traced ``fit`` steps (after one untraced step)."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    model.fit(data, steps_per_epoch=2, epochs=1, verbose=0)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
        tf.profiler.experimental.stop()
        files = sorted(Path(logdir).rglob("*.xplane.pb"))
        space = xplane_pb2.XSpace()
        space.ParseFromString(files[-1].read_bytes())
    totals: dict[str, float] = collections.defaultdict(float)
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        names = {k: m.name for k, m in plane.event_metadata.items()}
        for line in plane.lines:
            # TF op events are "scope/name:OpType"; executor and Python events have no ':' type.
            for ev in line.events:
                name = names.get(ev.metadata_id, "")
                op_type = name.rsplit(":", 1)[1] if ":" in name and "::" not in name else ""
                # executor and tf.data events ("Run", "Iterator::...::Process") are not ops
                if op_type and (hasattr(tf.raw_ops, op_type) or op_type.startswith("_")):
                    totals[op_type] += ev.duration_ps / 1e9 / steps
    return dict(totals)


def op_type_table(totals: dict[str, float], conv_peak_gflops: float, top: int = 12) -> str:
    """Markdown: op types by ms per step, their share and roofline class, then the class totals."""
    total = sum(totals.values()) or 1.0
    lines = ["| op type | ms per step | share | bound |", "|---|---:|---:|---|"]
    for op_type, ms in sorted(totals.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"| {op_type} | {ms:.1f} | {100 * ms / total:.0f} % | {roofline_class(op_type)} |")
    by_class: dict[str, float] = collections.defaultdict(float)
    for op_type, ms in totals.items():
        by_class[roofline_class(op_type).split(" (")[0]] += ms
    lines.append("")
    lines.append("Op time by class: " + ", ".join(f"{k} {v:.1f} ms ({100 * v / total:.0f} %)"
                                                 for k, v in sorted(by_class.items(), key=lambda kv: -kv[1]))
                 + f" (sum of op durations across threads, per step; conv3x3 peak {conv_peak_gflops:.0f} GFLOP/s).")
    return "\n".join(lines)
