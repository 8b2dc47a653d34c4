"""int8 latency at 224x224 of our presets against the FastDepth int8 peer, in the same run.

    .venv/bin/python -m benchmarks.bench_models [--presets a,b] [--runs 50] [--threads 2]

Every model (ours: full-integer PTQ, uint8 IO, converted by ``keras-depth models`` and cached under
runs/models_table) and the peer (../shared/anchors/fastdepth_224_int8/fast_depth_224.tflite, uint8
[1,224,224,3]) are invoked round-robin in one process with ai-edge-litert on 2 threads, so load from
other jobs on the shared machine hits all alike; the ratio to the peer is the figure to read.
Issue 5 asks for at least one preset at <= 0.5x the peer.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from keras_depth.runtime.latency import measure_latency
from keras_depth.runtime.peers import FASTDEPTH, peer_path
from export.preset_table import convert_preset


def main() -> int:
    from keras_depth.models import preset_names

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default="tiny_unet_half,tiny_unet,unet_mobilenetv2,fusion_mobilenetv3small,nnconv5_mobilenetv2,unet_mobilenetv3small")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--cache", default="runs/models_table")
    args = p.parse_args()
    names = [n for n in args.presets.split(",") if n in preset_names()]
    models = {n: convert_preset(n, args.size, Path(args.cache))["int8"] for n in names}
    models["fastdepth_peer"] = peer_path(FASTDEPTH)
    lat = {k: v["median_ms"] for k, v in measure_latency(models, args.threads, args.runs).items()}
    peer = lat["fastdepth_peer"]
    print(f"int8 latency at {args.size}x{args.size}, {args.threads} threads, median of {args.runs} (round-robin):")
    for n, ms in sorted(lat.items(), key=lambda kv: kv[1]):
        print(f"  {n:<26} {ms:7.2f} ms   {ms / peer:5.2f} x peer")
    best = min((n for n in lat if n != "fastdepth_peer"), key=lat.get)
    print(f"best: {best} at {lat[best] / peer:.2f} x FastDepth ({'meets' if lat[best] <= 0.5 * peer else 'misses'} the <= 0.5x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
