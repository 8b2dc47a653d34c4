"""Distillation on real frames, end to end (``keras-depth distill``), with the shared peers as teachers.

    .venv/bin/python -m benchmarks.bench_distill                      # FastDepth, then PyDNet++
    .venv/bin/python -m benchmarks.bench_distill --teacher fastdepth  # one teacher
    .venv/bin/python -m benchmarks.bench_distill --quick              # a few steps, to check the wiring

Frames: unlabelled only, from ../shared/data: ``unlabeled/`` (5 videos, 3 stills, 48 photos),
``video/`` (bedroom, vtest, DAVIS bike and judo, Sintel) and the colour images of ``stereo/``
(Middlebury motorcycle and aloe, the in-the-wild pair; the KITTI pair is grey). No frame of
``data/rgbd`` is trained on (checked below); those frames are the evaluation.

Each teacher's run writes its student (int8 files + manifests) and report under
``runs/bench/distill_<teacher>/`` and its section of ``docs/distill.md``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

from benchmarks import REPO, doc_sections

SCRIPT = "benchmarks/bench_distill.py"

TEACHERS = {
    "fastdepth": {"kind": "peer", "path": "fastdepth_224_int8"},  # metric depth (NYU), int8
    "pydnet": {"kind": "peer", "path": "pydnet_pp_float"},  # relative depth, float32
}
DOC = REPO / "docs" / "distill.md"


def frame_sources(data: Path) -> list[dict]:
    """The unlabelled sources, with subsampling: consecutive video frames are near-duplicates."""
    u, v, s = data / "unlabeled", data / "video", data / "stereo"
    videos = [{"path": str(p), "count": 100, "name": p.stem} for p in sorted((u / "sam2_gallery").glob("*.mp4"))]
    return videos + [
        {"path": str(u / "sam2_gallery" / "*.jpg"), "name": "sam2_stills"},
        {"path": str(u / "jetson_scenes"), "name": "jetson_scenes"},
        {"path": str(v / "bedroom_frames"), "count": 100, "name": "bedroom"},
        {"path": str(v / "vtest_static_camera" / "vtest.avi"), "count": 40, "name": "vtest"},
        {"path": str(v / "davis_judo_bike" / "images" / "bike"), "name": "davis_bike"},
        {"path": str(v / "davis_judo_bike" / "images" / "judo"), "name": "davis_judo"},
        {"path": str(v / "sintel_frames"), "name": "sintel"},
        {"path": str(s / "middlebury2014_motorcycle" / "motorcycle_*.png"), "name": "stereo_motorcycle"},
        {"path": str(s / "middlebury2006_aloe" / "aloe[LR].jpg"), "name": "stereo_aloe"},
        {"path": str(s / "inthewild_pair_noGT" / "*.png"), "name": "stereo_inthewild"},
    ]


def check_no_rgbd(sources: list[dict], data: Path) -> None:
    rgbd = str((data / "rgbd").resolve())
    bad = [x["path"] for x in sources if str(Path(x["path"]).resolve()).startswith(rgbd)]
    if bad:
        raise SystemExit(f"error: the evaluation frames of data/rgbd must not be trained on: {bad}")


def overrides(name: str, sources: list[dict], out: Path, cache: Path, quick: bool, epochs: int | None) -> list[str]:
    import yaml

    sets = [f"output_dir={out}", f"data.cache_dir={cache}",
            "distill.teachers=" + yaml.safe_dump([TEACHERS[name]], default_flow_style=True).strip(),
            "distill.sources=" + yaml.safe_dump(sources, default_flow_style=True, width=10**6).strip()]
    if epochs:
        sets.append(f"train.epochs={epochs}")
    if quick:
        sets += ["train.epochs=1", "train.steps_per_epoch=5", "train.precise_bn_batches=2", "qat.steps_per_epoch=30",
                 "export.representative_samples=8", "distill.latency_runs=10"]
    return sets


def run_teacher(name: str, data: Path, quick: bool, epochs: int | None, out_root: Path) -> dict:
    from keras_depth.config import load_config
    from keras_depth.cli.common import resolve_config_path
    from keras_depth.cli.distill import run_distill
    from keras_depth.distill.report import report_json

    sources = frame_sources(data)
    if quick:
        sources = [dict(x, count=min(x.get("count", 12), 12)) for x in sources]
    check_no_rgbd(sources, data)
    out = out_root / f"distill_{name}{'_quick' if quick else ''}"
    config = load_config(resolve_config_path("distill"), overrides(name, sources, out, out_root / "cache", quick, epochs))
    start = time.time()
    report = run_distill(config)
    report["wall_seconds"] = time.time() - start
    (out / "bench_report.json").write_text(report_json(report))
    return report


def section(name: str, report: dict, quick: bool) -> str:
    from keras_depth.distill.report import format_report

    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    begin, end = markers(name)
    body = format_report(report).replace("# Distillation report", f"## Teacher: {TEACHERS[name]['path']}", 1)
    head = (f"Written by `benchmarks/bench_distill.py{' --quick' if quick else ''}` on "
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, this machine (2 cores, load average "
            f"{load} at the end), {report['wall_seconds'] / 60:.1f} min in all. Files: `runs/bench/distill_{name}/`.")
    return "\n".join([begin, body.split("\n", 1)[0], "", head, "", body.split("\n", 1)[1].strip(), "", end])


def markers(name: str) -> tuple[str, str]:
    return doc_sections.markers(SCRIPT, name)


def write_section(path: Path, name: str, text: str) -> None:
    doc_sections.write_section(path, SCRIPT, name, text, title="# Distillation")


def ar_demos(models: dict[str, Path], frames: Path, out_root: Path, max_frames: int) -> dict:
    """The AR demo (a cube at the frame centre, hidden where the model's depth is nearer) and the
    flicker figure of each model on the bedroom video: PNG paths and flicker, per model."""
    from keras_depth.ar.demo import DemoOptions, run_demo
    from keras_depth.ar.temporal_eval import FlickerOptions, temporal_flicker

    results = {}
    for label, model in models.items():
        if not Path(model).is_file():
            print(f"skipped AR demo of {label}: {model} not found")
            continue
        out = out_root / "ar_bedroom" / f"{label}.mp4"
        out.parent.mkdir(parents=True, exist_ok=True)
        summary = run_demo(DemoOptions(model=str(model), input=str(frames), out=str(out), max_frames=max_frames,
                                       png_every=max(1, max_frames // 3), no_progress=True))
        flicker = temporal_flicker(model, frames, FlickerOptions(max_frames=max_frames))
        results[label] = {"model": str(model), "mp4": str(out), "pngs": summary.get("pngs", []),
                          "flicker": flicker["without"]["flicker"], "flicker_rel": flicker["without"]["flicker_rel"],
                          "flicker_stabilised": flicker["with"]["flicker"], "semantics": flicker["semantics"]}
    return results


def ar_section(results: dict, frames: int) -> str:
    begin, end = markers("ar")
    lines = [begin, "## The AR demo on real video (bedroom_frames)", "",
             f"Written by `benchmarks/bench_distill.py --ar` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC: "
             f"`keras-depth demo` (a cube anchored at the frame centre) and `keras-depth temporal` on the first {frames} "
             "frames of `../shared/data/video/bedroom_frames`, per int8 QAT model. Flicker: mean |change| of the "
             "aligned disparity on static pixels between consecutive frames (1/m; `keras_depth/ar/temporal.py`), "
             "lower is steadier.", "",
             "| model | semantics | flicker (1/m) | relative flicker | stabilised | PNGs |", "|---|---|---|---|---|---|"]
    for label, r in results.items():
        pngs = ", ".join(f"`{Path(p).relative_to(REPO) if Path(p).is_relative_to(REPO) else p}`" for p in r["pngs"])
        lines.append(f"| {label} | {r['semantics']} | {r['flicker']:.4g} | {r['flicker_rel']:.4g} | "
                     f"{r['flicker_stabilised']:.4g} | {pngs} |")
    return "\n".join(lines + ["", end])


def main() -> int:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    from keras_depth.paths import shared_path

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--teacher", action="append", choices=sorted(TEACHERS), help="default: fastdepth, then pydnet")
    p.add_argument("--quick", action="store_true", help="a few steps on a few frames (checks the wiring; no doc update)")
    p.add_argument("--epochs", type=int, help="override train.epochs of the distill recipe")
    p.add_argument("--out", default=str(REPO / "runs" / "bench"))
    p.add_argument("--ar", action="store_true", help="only the AR demo and flicker on bedroom_frames, with the "
                   "distilled students and the quickstart model (run the teachers and `make demo` first)")
    p.add_argument("--ar-frames", type=int, default=90)
    args = p.parse_args()
    data = shared_path("data")
    if not data.is_dir():
        print(f"error: {data} not found (set KERAS_DEPTH_SHARED)", file=sys.stderr)
        return 2
    if args.ar:
        out = Path(args.out)
        models = {f"student_{n}": out / f"distill_{n}" / "model_int8_qat.tflite" for n in TEACHERS}
        models["quickstart"] = REPO / "runs" / "quickstart" / "model_int8_qat.tflite"
        results = ar_demos(models, data / "video" / "bedroom_frames", out, args.ar_frames)
        (out / "ar_bedroom" / "ar_bedroom.json").write_text(json.dumps(results, indent=2))
        text = ar_section(results, args.ar_frames)
        print(text)
        write_section(DOC, "ar", text)
        return 0
    for name in args.teacher or ["fastdepth", "pydnet"]:
        report = run_teacher(name, data, args.quick, args.epochs, Path(args.out))
        text = section(name, report, args.quick)
        print(text)
        if not args.quick:
            write_section(DOC, name, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
