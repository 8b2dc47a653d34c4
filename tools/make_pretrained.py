"""Rebuild the model that ships in the package: ``keras_depth/pretrained/<NAME>/``.

    .venv/bin/python -m tools.make_pretrained                 # distill (benchmarks.bench_distill's
                                                             # FastDepth recipe, ~45-60 min on 2 cores), then ship
    .venv/bin/python -m tools.make_pretrained --from runs/bench/distill_fastdepth   # ship a finished run

Shipping copies the run's int8 QAT and float32 TFLite files, its float ``model.keras`` and
``model_meta.json``; writes into both manifests (JSON beside, and embedded) the camera the model
assumes and the terms that follow from its sources; scores the shipped int8 and float32 files beside
the teacher and an oracle constant on every labelled real RGB-D frame of ``../shared/data/rgbd``, per
source, raw and median-aligned; times int8 latency against the teacher, interleaved in one process on
2 threads; and writes ``MODEL_CARD.md`` with all of it, the recipe's config hash and the files' hashes.
The folder is built beside its destination and renamed onto it, so a failed rebuild leaves the shipped
model as it was. TensorFlow's training is not bit-reproducible across CPUs, so a rebuild is checked
by its recipe hash and its scores, not by the files' bytes.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "student_fastdepth_mnv2_128"
TEACHER = "fastdepth_224_int8"
# The teacher was trained on NYU Depth v2 (a Kinect: fx 518.9 px over 640 px, 63 degrees across), so
# that is the camera whose metric scale the student learned.
CAMERA = {"hfov_deg": 63.0, "from": "NYU Depth v2's Kinect (the teacher's training camera)"}
# Every frame source of benchmarks.bench_distill.frame_sources, with its terms (../shared/data READMEs
# and PROVENANCE.md files).
SOURCES = [
    ("sam2_gallery videos and stills", "facebookresearch/sam2 demo media", "repository Apache-2.0; the media carry no separate statement"),
    ("jetson_scenes", "dusty-nv/jetson-inference data/images", "repository MIT; no per-image licence"),
    ("bedroom_frames", "SAM 2 demo video", "repository Apache-2.0; no separate licence for the video"),
    ("vtest", "OpenCV sample data", "Apache-2.0 (OpenCV 4.x)"),
    ("DAVIS bike and judo", "via Cutie (MIT); very likely DAVIS 2017 frames", "DAVIS: research use, its own terms"),
    ("Sintel frames", "via RAFT (BSD-3-Clause); MPI-Sintel training frames", "Sintel movie CC BY 3.0 (Blender Foundation)"),
    ("Middlebury 2014 motorcycle", "via scikit-image", "Middlebury asks for citation; no formal data licence"),
    ("Middlebury 2006 aloe", "via OpenCV docs", "no stanza in OpenCV's copyright file"),
    ("in-the-wild stereo pair", "via CREStereo (Apache-2.0)", "origin of the image not stated"),
]
TEACHER_TERMS = ("FastDepth (Wofk et al., ICRA 2019), int8 from OpenMV/ST: MIT / Apache-2.0 files, weights trained "
                 "on NYU Depth v2 (research use)")
LICENCE = {"name": "non-commercial (research use)",
           "why": "its pseudo-labels come from a teacher trained on NYU Depth v2 and its frames include DAVIS "
                  "(research use) and images without a licence statement",
           "code": "Apache-2.0 (keras-depth)"}
FILES = ("model_int8_qat.tflite", "model_float32.tflite", "model.keras", "model_meta.json")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stage(run: Path, dest: Path) -> dict:
    """Copy the run's files into ``dest`` with the camera and licence in both TFLite manifests."""
    from export.manifest import embed_manifest, write_manifest
    from keras_depth.runtime.manifest import read_manifest

    missing = [f for f in FILES if not (run / f).is_file()]
    if missing:
        raise SystemExit(f"error: {run}: missing {missing} (a finished `keras-depth distill` run?)")
    dest.mkdir(parents=True)
    for f in FILES:
        if f.endswith(".tflite"):
            m = read_manifest(run / f)
            m.metrics = {**m.metrics, "camera": CAMERA, "licence": LICENCE}
            m.notes = (f"keras-depth's shipped model {NAME}: distilled from {TEACHER}; {LICENCE['name']} "
                       "(see MODEL_CARD.md)")
            write_manifest(m, dest / f)
            (dest / f).write_bytes(embed_manifest((run / f).read_bytes(), m))
        elif f == "model.keras":
            # loaded uncompiled and saved again: the weights without the optimizer's slots, a third of the size
            from keras_depth.models.io import load_trained_model, save_model_atomic

            save_model_atomic(load_trained_model(run / f), dest / f)
        else:
            shutil.copy2(run / f, dest / f)
    return json.loads((dest / "model_meta.json").read_text())


def evaluate(folder: Path) -> dict:
    """Per-source scores on the real RGB-D frames, and interleaved int8 latency against the teacher."""
    from keras_depth.evaluation import real_frames as rf
    from keras_depth.runtime.latency import measure_latency
    from keras_depth.runtime.peers import peer_manifest, peer_path
    from keras_depth.runtime.tflite import TFLiteDepthEstimator

    models = {}
    for label, f in (("shipped int8", "model_int8_qat.tflite"), ("shipped float32", "model_float32.tflite")):
        est = TFLiteDepthEstimator(folder / f, num_threads=2)
        models[label] = (est.predict_depth, est.input_size)
    teacher = TFLiteDepthEstimator(peer_path(TEACHER), manifest=peer_manifest(TEACHER), num_threads=2)
    models[f"teacher {TEACHER}"] = (teacher.predict_depth, teacher.input_size)
    frames = rf.load_real_frames()
    scores = rf.score_real_frames(models, frames)
    latency = measure_latency({"shipped int8": folder / "model_int8_qat.tflite", f"teacher {TEACHER}": peer_path(TEACHER)},
                              threads=2, runs=100)
    return {"scores": scores, "table": rf.format_real_frames_table(scores), "latency": latency,
            "frames": rf.format_frames_table(frames)}


def card(meta: dict, ev: dict, folder: Path, run: Path) -> str:
    from keras_depth.runtime.manifest import read_manifest

    m = read_manifest(folder / "model_int8_qat.tflite")
    s, t = ev["scores"], ev["scores"][f"teacher {TEACHER}"]
    lat = ev["latency"]
    ratio = lat["shipped int8"]["median_ms"] / lat[f"teacher {TEACHER}"]["median_ms"]
    indoor = {k: s[k]["indoor"] for k in s}
    sources = "\n".join(f"| {n} | {w} | {lic} |" for n, w, lic in SOURCES)
    files = "\n".join(f"| `{p.name}` | {p.stat().st_size / 1024:.0f} KiB | `{sha256(p)[:16]}…` |"
                      for p in sorted(folder.iterdir()) if p.name != "MODEL_CARD.md")
    me, tc = indoor["shipped int8"], indoor[f"teacher {TEACHER}"]
    scale_kept = me["raw"]["delta1"] >= 0.9 * tc["raw"]["delta1"]
    summary = (f"Indoors (mean over the {me['sources']} indoor sources, each weighted alike), the int8 model's "
               f"median-aligned δ1 is **{me['median']['delta1']:.3f}** against its teacher's {tc['median']['delta1']:.3f}, "
               f"and its raw (metric) δ1 **{me['raw']['delta1']:.3f}** against {tc['raw']['delta1']:.3f}: "
               + ("it keeps the teacher's metric scale." if scale_kept else
                  "**its metric scale is much weaker than its teacher's**, so give it one known distance or a few "
                  "points (`--align-median`, `--align-points`) wherever metres matter.")
               + f" It runs in {ratio:.2f}x the teacher's int8 latency.")
    row = lambda k: f"| {k} | {indoor[k]['median']['delta1']:.3f} | {indoor[k]['raw']['delta1']:.3f} | {indoor[k]['median']['abs_rel']:.3f} |"  # noqa: E731
    return f"""---
license: other
license_name: non-commercial-research
tags: [depth-estimation, monocular-depth, tflite, int8, keras]
pipeline_tag: depth-estimation
---
# {NAME}

A phone-sized monocular depth model: one RGB image in, metric depth in metres out. A U-Net with a
MobileNetV2-0.35 encoder at {m.input.height}x{m.input.width} input, predicting at half resolution,
int8 (quantization-aware trained) and float32 TFLite, each with its manifest embedded. It is the
default model of `keras-depth predict` and `kd.load()`.

{summary}

```bash
keras-depth predict photo.jpg --out out/          # this model, by default
keras-depth predict photo.jpg --model {NAME}:float32 --out out/
```

## Intended use and limits
- **Indoor scenes at phone height**, 0.25-10 m (the output range): rooms, desks, table tops. Not for
  streets or landscapes: its teacher never saw them, and both fail on KITTI (table below).
- **Metric scale is learned, not measured**, from a teacher trained on NYU Depth v2's Kinect; it is
  right for cameras like that one (about {CAMERA['hfov_deg']:.0f} degrees across), and off by the ratio of focal
  lengths for others. For AR anchoring, align with one known distance or sparse points
  (`predict --align-median`, `--align-points`) where the scale matters.
- **Point clouds** (`predict --save ply`) assume a horizontal field of view of {CAMERA['hfov_deg']:.0f} degrees
  ({CAMERA['from']}) unless `--fov` or `--intrinsics` is given.
- The frame is centre-cropped to the model's square input (`--fit crop`, default) or mirrored out to it
  (`--fit pad`); depth is upsampled bilinearly to the input's resolution.

## Terms: {LICENCE['name']}
The model was trained without any depth label, on a teacher's pseudo-labels of unlabelled frames
(`keras-depth distill`). Its terms follow from its teacher and its frames: **{LICENCE['name']}**,
because {LICENCE['why']}. The manifest says so too (`metrics.licence`). The code that made it is
{LICENCE['code']}. No frame ships: only the weights.

Teacher: {TEACHER_TERMS}.

| frames | from | terms |
|---|---|---|
{sources}

A recipe restricted to permissive terms cannot be built from what this project has: it would need a
teacher whose weights and training data are permissive, and neither teacher in `../shared/anchors`
is (FastDepth learned from NYU Depth v2; PyDNet++'s weights are non-commercial). Dropping the DAVIS
and unlicensed frames alone would not lift the teacher's terms, so it was not trained.

## Scores on real RGB-D frames
Every labelled real frame of `../shared/data/rgbd` (none trained on), each model on the centre crop
of its input's aspect; AbsRel / δ1 per image, averaged per source, **raw** (metric, as predicted) and
**median**-aligned (scale fixed per image). `indoor` is the mean over the indoor sources, each weighted
alike; `constant` is an oracle constant (the pooled median, raw; each image's median, aligned).

{ev['frames']}

{ev['table']}

Indoor, mean over sources (δ1 median-aligned, δ1 raw, AbsRel median-aligned):

| model | δ1 median | δ1 raw | AbsRel median |
|---|---|---|---|
{chr(10).join(row(k) for k in indoor)}

## Latency
int8, 2 threads, interleaved with the teacher in one process (this machine, `keras_depth.runtime.latency`):
shipped int8 {lat['shipped int8']['median_ms']:.2f} ms (p90 {lat['shipped int8']['p90_ms']:.2f}) at {m.input.height}x{m.input.width}
against {TEACHER} {lat[f'teacher {TEACHER}']['median_ms']:.2f} ms (p90 {lat[f'teacher {TEACHER}']['p90_ms']:.2f}) at 224x224:
**{ratio:.2f}x** the teacher's.

## Recipe and files
- Recipe: `keras_depth/configs/distill.yaml` with `benchmarks/bench_distill.py`'s frame sources and
  teacher; config hash `{meta.get('config_sha256', m.training_config_sha256)}`.
- Rebuild: `python -m tools.make_pretrained` (distills again, then ships), or
  `python -m tools.make_pretrained --from RUN` for a finished run. TensorFlow's training is not
  bit-reproducible across CPUs: compare a rebuild by the hash above and these scores.
- Built {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC from `{run.name}`.

| file | size | sha256 |
|---|---|---|
{files}
"""


def readme_picture(folder: Path, out: Path) -> Path:
    """README's picture: a room the project's synthetic renderer makes (no shared frame may ship),
    through the shipped model as ``keras-depth predict --save side`` writes it."""
    from keras_depth.data.synthetic.frames import render_frame
    from keras_depth.inference.model import load
    from keras_depth.inference.result import write_side_by_side

    rgb = render_frame(3, 0, 360, 480, split="val").image
    write_side_by_side(load(folder / "model_int8_qat.tflite").predict(rgb, fit="pad"), out)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--from", dest="run", help="a finished distill run folder (default: distill now)")
    p.add_argument("--out", default=str(REPO / "keras_depth" / "pretrained" / NAME))
    args = p.parse_args(argv)
    if args.run:
        run = Path(args.run)
    else:
        from benchmarks.bench_distill import run_teacher
        from keras_depth.paths import shared_path

        run_teacher("fastdepth", shared_path("data"), quick=False, epochs=None, out_root=REPO / "runs" / "bench")
        run = REPO / "runs" / "bench" / "distill_fastdepth"
    dest = Path(args.out)
    tmp = dest.with_name(f".{dest.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    meta = stage(run, tmp)
    ev = evaluate(tmp)
    (tmp / "MODEL_CARD.md").write_text(card(meta, ev, tmp, run))
    old = dest.with_name(f".{dest.name}.old")
    if dest.exists():
        dest.rename(old)
    tmp.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    print(f"README picture: {readme_picture(dest, REPO / 'docs' / 'img' / 'predict_example.png')}")
    print(f"shipped {dest} ({sum(f.stat().st_size for f in dest.iterdir()) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
