"""int8 inference latency at equal input sizes: ours against the FastDepth and PyDNet++ peers, in one process.

    .venv/bin/python -m benchmarks.bench_latency [--run-dir runs/quickstart] [--quick]

Models: the quickstart's model (``--run-dir``: its ``model.keras`` and ``model_qat.h5`` re-exported as
int8 QAT at each size; without them the quickstart config's model, untrained, as int8 PTQ, for
latency only), the smallest preset (``--preset``, int8 PTQ, untrained; cached by ``keras-depth
models``' converter), FastDepth int8 and PyDNet++ float32 (``../shared/anchors``), each resized to
every square size where its graph allows (``keras_depth.runtime.tflite.load_interpreter``), or said not to run.
All are invoked round-robin in this one process (``keras_depth.runtime.latency.measure_latency``), at 1 and 2
threads: median and p90 ms. Latency against pixels is fitted with a least-squares line
(``keras_depth.runtime.latency.fit_latency_slope``). Peak RSS: ``export.benchmark.peak_memory_mib``, a fresh
subprocess per model and size (2 threads). Accuracy: AbsRel and delta1 after per-image median
alignment on the real RGB-D frames (``keras_depth.evaluation.real_frames``) of every model at its
own input size, against its 2-thread latency timed in the same round-robin.

Prints markdown (the first line says so, for benchmarks/run_all.py); progress goes to stderr. Writes
``docs/img/latency_vs_pixels.png``, ``docs/img/accuracy_vs_latency.png`` and ``runs/bench/latency.json``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

from benchmarks import REPO
from benchmarks.doc_sections import MARKDOWN

NATIVE = "own size"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def our_models(run_dir: Path, sizes: list[int], work: Path) -> tuple[str, dict[int, Path], dict[str, Path]]:
    """(label, {size: int8 file}, {label: file at its own size for the accuracy plot})."""
    from export.benchmark import export_at_resolution
    from keras_depth.models.io import load_qat_model
    from keras_depth.cli.common import resolve_config_path
    from keras_depth.config import load_config
    from keras_depth.models.io import load_trained_model, require_depth_model

    trained = (run_dir / "model.keras").is_file()
    config = load_config(run_dir / "config.json" if (run_dir / "config.json").is_file() else resolve_config_path("quickstart"))
    # Calibration only sets the int8 ranges, which latency does not depend on: render as few training
    # frames as calibration takes, not the whole split (1600 frames, ~40 s on a loaded machine).
    n = config.export.representative_samples
    train = [{**e, "count": min(int(e["count"]), n)} if "count" in e else e for e in config.data.train]
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, train=train))
    variant = "int8_qat" if trained and (run_dir / "model_qat.h5").is_file() else "int8_ptq"
    label = f"quickstart {variant}" if trained else "quickstart int8_ptq (untrained)"
    if trained:
        model = require_depth_model(load_trained_model(run_dir / "model.keras"), run_dir / "model.keras")
        qat = load_qat_model(run_dir / "model_qat.h5") if variant == "int8_qat" else None
    else:
        from keras_depth.models import build_model_from_config

        model, qat = build_model_from_config(config.model, config.data.image_size), None
    files = {}
    for s in sizes:
        d = work / f"quickstart_{s}" if trained else work / f"quickstart_untrained_{s}"
        f = d / f"model_{variant}.tflite"
        # an export newer than the weights is current; untrained weights do not change latency
        if not (f.is_file() and (not trained or f.stat().st_mtime > (run_dir / "model.keras").stat().st_mtime)):
            log(f"exporting {variant} at {s}x{s}")
            f = export_at_resolution(config, model, qat, (s, s), [variant], d, log=log)[variant]
        files[s] = f
    native = {f"quickstart {p.stem[6:]}": p for p in sorted(run_dir.glob("model_*.tflite"))} if trained else {}
    return label, files, native


def square(s: int) -> tuple[int, int]:
    return (s, s)


def main() -> int:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run-dir", default=str(REPO / "runs" / "quickstart"), help="the quickstart run (model.keras, model_qat.h5, model_*.tflite)")
    p.add_argument("--distill-dir", default=str(REPO / "runs" / "bench" / "distill_pydnet"), help="the distilled PyDNet++ student, when present")
    p.add_argument("--preset", default="tiny_unet_half", help="the smallest preset (fewest MACs in docs/models.md)")
    p.add_argument("--sizes", default="128,224,320", help="comma-separated square input sides")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--runs", type=int, default=40, help="timed invokes per model and thread count")
    p.add_argument("--quick", action="store_true", help="sizes 128,224, 8 runs, no peak RSS: about a minute")
    p.add_argument("--img-dir", default=str(REPO / "docs" / "img"), help="where the two PNG plots go ('' for none)")
    p.add_argument("--cache", default=str(REPO / "runs" / "models_table"), help="the preset converter's cache")
    args = p.parse_args()
    sizes = [128, 224] if args.quick else [int(s) for s in args.sizes.split(",")]
    runs = 8 if args.quick else args.runs
    threads = [int(t) for t in args.threads.split(",")]
    from export.benchmark import peak_memory_mib, peers_resized_to
    from keras_depth.runtime.latency import fit_latency_slope, measure_latency
    from keras_depth.runtime.peers import FASTDEPTH, PYDNET, peer_path
    from export.preset_table import convert_preset

    t0 = time.perf_counter()
    work = REPO / "runs" / "bench" / "latency"
    ours, our_files, native = our_models(Path(args.run_dir), sizes, work)
    peers = {"FastDepth int8 (peer)": peer_path(FASTDEPTH), "PyDNet++ float32 (peer)": peer_path(PYDNET)}
    preset = f"{args.preset} int8_ptq (untrained)"
    # (model, size) -> (file, input (h, w) to resize to, or None for the file's own)
    grid: dict[tuple[str, int], tuple[Path, object]] = {}
    for s in sizes:
        grid[(ours, s)] = (our_files[s], None)
        grid[(preset, s)] = (convert_preset(args.preset, s, Path(args.cache))["int8"], None)
    notes: list[str] = []
    resized = peers_resized_to(peers, [square(s) for s in sizes], notes)
    for label, path in peers.items():
        for s in sizes:
            key = f"{label} ({s}x{s})"
            if key in resized:
                grid[(label, s)] = (path, square(s))
            elif not any(n.startswith(f"{label} cannot run at {s}x{s}") for n in notes):
                grid[(label, s)] = (path, None)  # its own size
    distill = Path(args.distill_dir)
    student = next((distill / f for f in ("model_int8_qat.tflite", "model_int8_ptq.tflite") if (distill / f).is_file()), None)
    if student is not None:
        native[f"distilled PyDNet++ student {student.stem[6:]}"] = student
    native.update({f"{label} {NATIVE}": path for label, path in peers.items()})
    timed = {f"{m} @{s}": f for (m, s), (f, _) in grid.items()} | native
    sized = {f"{m} @{s}": hw for (m, s), (_, hw) in grid.items() if hw is not None}
    lat = {}
    for t in threads:
        log(f"timing {len(timed)} models round-robin, {t} thread(s), {runs} runs")
        lat[t] = measure_latency(timed, t, runs, input_hw=sized)
    rss = {} if args.quick else {k: peak_memory_mib(Path(f), max(threads), sized.get(k)) for k, f in timed.items() if k not in native}
    fits = {(m, t): fit_latency_slope([s * s for s in ss], [lat[t][f"{m} @{s}"]["median_ms"] for s in ss])
            for m in dict.fromkeys(m for m, _ in grid) for t in threads
            if len(ss := [s for s in sizes if (m, s) in grid]) >= 2}
    accuracy = real_frame_accuracy(native)
    result = {"sizes": sizes, "threads": threads, "runs": runs, "grid": {f"{m} @{s}": str(f) for (m, s), (f, _) in grid.items()},
              "latency": {str(t): v for t, v in lat.items()}, "peak_rss_mib": rss, "notes": notes,
              "fits": {f"{m} / {t}": v for (m, t), v in fits.items()}, "accuracy": accuracy}
    work.mkdir(parents=True, exist_ok=True)
    (work.parent / "latency.json").write_text(json.dumps(result, indent=1, default=str))
    images = plots(args.img_dir, grid, lat, fits, accuracy, native, sizes, max(threads)) if args.img_dir else []
    print(report(grid, lat, rss, fits, accuracy, native, notes, sizes, threads, runs, images, time.perf_counter() - t0))
    return 0


def real_frame_accuracy(native: dict[str, Path]) -> dict[str, dict]:
    """{label: {"abs_rel", "delta1", "frames"}} after per-image median alignment on the real frames."""
    from keras_depth.cli.common import resolve_config_path
    from keras_depth.config import load_config
    from keras_depth.evaluation.predictors import load_model
    from keras_depth.evaluation.real_frames import ALL, load_real_frames, score_real_frames
    from keras_depth.paths import shared_path

    if not shared_path("data", "rgbd").is_dir():
        log(f"no {shared_path('data', 'rgbd')}: no accuracy")
        return {}
    config = load_config(resolve_config_path("quickstart"))
    peers = {f"FastDepth int8 (peer) {NATIVE}": "peer:fastdepth_224_int8", f"PyDNet++ float32 (peer) {NATIVE}": "peer:pydnet_pp_float"}
    models = {}
    for label, path in native.items():
        m = load_model(peers.get(label, str(path)), config)
        models[label] = (m.predict, m.input_hw)
    log(f"scoring {len(models)} models on the real RGB-D frames")
    scores = score_real_frames(models, load_real_frames(), constant=False)
    return {k: {**v[ALL]["median"], "frames": v[ALL]["frames"], "input": "x".join(map(str, models[k][1]))} for k, v in scores.items()}


def plots(img_dir: str, grid, lat, fits, accuracy, native, sizes, t: int) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(img_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m in dict.fromkeys(m for m, _ in grid):
        ss = [s for s in sizes if (m, s) in grid]
        mp = [s * s / 1e6 for s in ss]
        line = ax.plot(mp, [lat[t][f"{m} @{s}"]["median_ms"] for s in ss], "o", label=m)[0]
        if (m, t) in fits:
            slope, icpt = fits[(m, t)]
            ax.plot([0, max(mp)], [icpt, icpt + slope * max(mp)], "--", color=line.get_color(), lw=1)
    ax.set(xlabel="input megapixels (square sides " + ", ".join(map(str, sizes)) + ")", ylabel=f"median ms ({t} threads)",
           title="Inference latency against input pixels (dashed: least-squares fit)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "latency_vs_pixels.png", dpi=110)
    plt.close(fig)
    names = ["latency_vs_pixels.png"]
    if accuracy:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, a in accuracy.items():
            ms = lat[t][label]["median_ms"]
            ax.plot(ms, a["abs_rel"], "o")
            ax.annotate(f"{label.replace(' ' + NATIVE, '')} {a['input']}", (ms, a["abs_rel"]), fontsize=7,
                        xytext=(4, 3), textcoords="offset points")
        ax.set(xscale="log", xlabel=f"median ms ({t} threads, log scale), each at its own input size",
               ylabel="AbsRel after per-image median alignment", title="Accuracy on the real RGB-D frames against latency")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "accuracy_vs_latency.png", dpi=110)
        plt.close(fig)
        names.append("accuracy_vs_latency.png")
    for n in names:
        log(f"wrote {out / n}")
    return names


def report(grid, lat, rss, fits, accuracy, native, notes, sizes, threads, runs, images, seconds) -> str:
    t = max(threads)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [MARKDOWN, "### int8 inference latency at equal input sizes", "",
             f"`benchmarks/bench_latency.py`, {seconds:.0f} s, load average {load} at the end: every model invoked round-robin in one process "
             f"(ai-edge-litert, XNNPACK), {runs} timed runs per model and thread count; cells are median / p90 ms. "
             "Peers run resized to each size where their graph allows. Ratios: this model's median over the "
             f"peer's at the same size, {t} threads.", ""]
    lines += ["| model | size | " + " | ".join(f"{n} thr median / p90 ms" for n in threads) + " | peak RSS MiB | vs peers |",
              "|---|---|" + "---|" * len(threads) + "---|---|"]
    models = list(dict.fromkeys(m for m, _ in grid))
    peer_names = [m for m in models if m.endswith("(peer)")]
    for m in models:
        for s in sizes:
            if (m, s) not in grid:
                lines.append(f"| {m} | {s}x{s} | " + " | ".join("cannot run" for _ in threads) + " | - | - |")
                continue
            k = f"{m} @{s}"
            cells = " | ".join(f"{lat[n][k]['median_ms']:.2f} / {lat[n][k]['p90_ms']:.2f}" for n in threads)
            mem = f"{rss[k]:.1f}" if rss.get(k) is not None else "-"
            ratios = ", ".join(f"{lat[t][k]['median_ms'] / lat[t][f'{p} @{s}']['median_ms']:.2f}x {p.split()[0]}"
                               for p in peer_names if p != m and (p, s) in grid)
            lines.append(f"| {m} | {s}x{s} | {cells} | {mem} | {ratios or '-'} |")
    lines += [""] + [f"- {n}" for n in notes]
    lines += ["- FastDepth's graph adds skip connections of fixed sizes (without XNNPACK, at 128x128: `Given shapes, "
              "[1,16,16,256] and [1,28,28,256], are not broadcastable`), so it runs at its own 224x224 only.",
              "- PyDNet++ resized still upsamples its three outputs to a fixed 448x640 (its graph's last resize has "
              "constant sizes), so its figures at other sizes include that final resize.", ""]
    lines += ["How latency grows with pixels: least-squares line `ms = slope x megapixels + intercept` over the sizes each model ran at.", "",
              "| model | threads | slope ms / MP | intercept ms | sizes |", "|---|---|---|---|---|"]
    for (m, n), (slope, icpt) in fits.items():
        lines.append(f"| {m} | {n} | {slope:.1f} | {icpt:.2f} | {', '.join(str(s) for s in sizes if (m, s) in grid)} |")
    if images:
        lines += ["", f"![latency against pixels](img/{images[0]})"]
    if accuracy:
        lines += ["", "Accuracy on the real RGB-D frames (`keras_depth/evaluation/real_frames.py`: each model on the centre "
                  "crop of its aspect at its own input size, AbsRel and delta1 after per-image median alignment, means per image) "
                  f"against its median latency at {t} threads, timed in the same round-robin:", "",
                  "| model | input | median ms | AbsRel | delta1 | frames |", "|---|---|---|---|---|---|"]
        for label, a in accuracy.items():
            lines.append(f"| {label.replace(' ' + NATIVE, '')} | {a['input']} | {lat[t][label]['median_ms']:.2f} | "
                         f"{a['abs_rel']:.3f} | {a['delta1']:.3f} | {a['frames']} |")
        if len(images) > 1:
            lines += ["", f"![accuracy against latency](img/{images[1]})"]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
