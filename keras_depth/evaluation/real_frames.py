"""Every labelled real RGB-D frame of ``../shared/data/rgbd``, scored per source at the ground truth's
resolution with the frame's aspect ratio kept.

The frame is centre-cropped to the model's aspect ratio (never squashed), the crop goes through the
model's own predictor (which resizes to its input), and the prediction is resized back (bilinear) to
the crop at the ground truth's resolution; pixels outside the crop are not scored. Each source keeps
its own depth cap: 10 m indoors, 80 m for KITTI (the Eigen/Monodepth2 outdoor cap). Metrics come
from ``keras_depth.metrics.depth_metrics`` (the one implementation), raw (metric) and median-aligned,
averaged per image; predictions are not clipped.

Units of each file are those of ``../shared/data/README.md`` and each folder's PROVENANCE.md.
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np

from keras_depth.data.readers.decode import read_depth, read_image
from keras_depth.errors import DataError, UsageError
from keras_depth.evaluation.predictors import Predictor
from keras_depth.evaluation.protocol import to_gt_size
from keras_depth.geometry import center_crop_box
from keras_depth.metrics.depth_metrics import METRIC_NAMES, per_image_metrics
from keras_depth.paths import shared_path

INDOOR_MAX_DEPTH = 10.0
KITTI_MAX_DEPTH = 80.0
DELTA1_THRESHOLD = 1.25  # what depth_metrics' delta1 counts: max(g/p, p/g) < 1.25
CONSTANT = "constant"
ALL = "all"
# Means over sources (each source's per-frame mean, weighted alike), so that no source with many
# frames outvotes the rest; INDOOR leaves out the street scenes (OUTDOOR).
SOURCE_MEAN, INDOOR = "mean over sources", "indoor"
OUTDOOR = ("kitti",)
SUMMARIES = (ALL, SOURCE_MEAN, INDOOR)
ALIGNMENTS = {"raw": "none", "median": "median"}  # result key -> depth_metrics alignment
SCORES = ("abs_rel", "delta1")

_OPEN3D = "open3d_redwood_tum_sun_nyuraw"
_TUM_FR2 = "slambook2/tum_fr2_desk_ch7"
_KITTI_OBJ = "kitti_lidar_sparse/training"
# source -> (depth cap in metres, frames as (rgb, depth, depth format, value / scale = metres)),
# paths relative to ../shared/data/rgbd.
SOURCES: dict[str, tuple[float, tuple[tuple[str, str, str, float], ...]]] = {
    "redwood": (INDOOR_MAX_DEPTH, tuple((f"{_OPEN3D}/color/{i:05d}.jpg", f"{_OPEN3D}/depth/{i:05d}.png", "png16", 1000.0)
                                        for i in range(5))),
    "tum": (INDOOR_MAX_DEPTH, ((f"{_OPEN3D}/other_formats/TUM_color.png", f"{_OPEN3D}/other_formats/TUM_depth.png", "png16", 5000.0),)
            + tuple((f"{_TUM_FR2}/{i}.png", f"{_TUM_FR2}/{i}_depth.png", "png16", 5000.0) for i in (1, 2))),
    "sun": (INDOOR_MAX_DEPTH, ((f"{_OPEN3D}/other_formats/SUN_color.jpg", f"{_OPEN3D}/other_formats/SUN_depth.png", "sunrgbd", 1000.0),)),
    # rgb.npy is RGB/255 (float64 HWC), depth.npy dense metres (read_image / the npy depth format)
    "nyu": (INDOOR_MAX_DEPTH, (("nyu_fastdepth_sample/rgb.npy", "nyu_fastdepth_sample/depth.npy", "npy", 1.0),)),
    # annotated (accumulated) depth, then single-scan LiDAR projected into image_2: both uint16 / 256
    "kitti": (KITTI_MAX_DEPTH, tuple((f"kitti_annotated/rgb/{n}.png", f"kitti_annotated/depth/{n}.png", "png16", 256.0)
                                     for n in ("0000000005", "0000000050", "0000000100"))
              + tuple((f"{_KITTI_OBJ}/image_2/{n}.png", f"{_KITTI_OBJ}/sparse_depth_2/{n}.png", "png16", 256.0)
                      for n in ("000000", "000001", "000002"))),
    # whole rooms from standing height (HoloLens, an office floor): uint16 millimetres, 0 = invalid
    "rooms_hololens": (INDOOR_MAX_DEPTH, tuple((f"rooms_hololens_dvmvs/rgb/{n:05d}.png", f"rooms_hololens_dvmvs/depth/{n:05d}.png",
                                                "png16", 1000.0)
                                               for n in (318, 321, 324, 327, 330, 333, 336, 339, 342, 345, 348, 351, 354,
                                                         357, 360, 363, 366, 370, 373, 376))),
}
EXCLUDED: dict[str, str] = {
    "slambook2/iclnuim_synthetic_ch12": "ICL-NUIM living room: rendered, not real sensor depth",
    f"{_OPEN3D}/other_formats/NYU_color.ppm": "NYU-raw Kinect frame: its disparity is not registered to the RGB",
}


@dataclasses.dataclass
class RealFrame:
    """One real RGB-D frame: ``image`` uint8 [H, W, 3] RGB, ``depth`` float32 [H, W] metres (0 =
    invalid), ``max_depth`` the cap used for scoring."""

    source: str
    name: str
    image: np.ndarray
    depth: np.ndarray
    max_depth: float


def _load_frame(source: str, rgb: str, depth: str, fmt: str, scale: float, max_depth: float) -> RealFrame:
    root = shared_path("data", "rgbd")
    image = read_image(root / rgb)
    value, valid = read_depth(root / depth, fmt, scale)
    if value.shape != image.shape[:2]:
        raise DataError(f"{root / depth}: depth {value.shape} does not match the image {image.shape[:2]}")
    value = np.where(valid, value, np.float32(0))
    if not (np.isfinite(value).all() and (value >= 0).all()):
        raise DataError(f"{root / depth}: expected finite depth >= 0")
    return RealFrame(source, rgb, image, value.astype(np.float32), max_depth)


def load_real_frames(sources: Optional[Sequence[str]] = None) -> list[RealFrame]:
    """Every labelled real frame of ``SOURCES`` (all of them by default) under
    ``keras_depth.paths.shared_path("data", "rgbd")``, in ``SOURCES`` order; ``EXCLUDED`` lists what
    is left out and why."""
    names = list(SOURCES) if sources is None else list(sources)
    unknown = [s for s in names if s not in SOURCES]
    if unknown:
        raise UsageError(f"real frames: unknown source(s) {unknown} (expected some of {list(SOURCES)})")
    root = shared_path("data", "rgbd")
    if not root.is_dir():
        raise UsageError(f"real frames: {root} not found (set KERAS_DEPTH_SHARED to the shared folder)")
    return [_load_frame(s, *files, SOURCES[s][0]) for s in SOURCES if s in names for files in SOURCES[s][1]]


def predict_full(predict: Predictor, input_hw: tuple[int, int], image: np.ndarray) -> np.ndarray:
    """float32 [H, W]: ``predict`` on the centre crop of ``image`` with the aspect of ``input_hw``,
    resized (bilinear) to the crop; NaN outside the crop."""
    top, left, h, w = center_crop_box(image.shape[:2], input_hw)
    crop = np.ascontiguousarray(image[top:top + h, left:left + w])
    out = np.full(image.shape[:2], np.nan, np.float32)
    out[top:top + h, left:left + w] = to_gt_size(predict(crop), (h, w))
    return out


def _gt_valid(frame: RealFrame, min_depth: float) -> np.ndarray:
    return (frame.depth > min_depth) & (frame.depth <= frame.max_depth)


def oracle_constant(frames: Sequence[RealFrame], min_depth: float = 0.1) -> float:
    """The median of every valid ground-truth pixel of ``frames`` pooled: the best single depth in
    hindsight, so an oracle, not a model."""
    pooled = np.concatenate([f.depth[_gt_valid(f, min_depth)] for f in frames])
    if pooled.size == 0:
        raise ValueError("oracle_constant: no valid ground-truth pixel in the frames")
    return float(np.median(pooled))


def _scores(frame: RealFrame, pred: np.ndarray, min_depth: float) -> dict[str, Optional[dict[str, float]]]:
    with np.errstate(invalid="ignore"):
        valid = _gt_valid(frame, min_depth) & np.isfinite(pred) & (pred > 0)
    out: dict[str, Optional[dict[str, float]]] = {}
    for key, alignment in ALIGNMENTS.items():
        values, evaluated = per_image_metrics(frame.depth, pred, valid, alignment=alignment)
        out[key] = {s: float(values[0, METRIC_NAMES.index(s)]) for s in SCORES} if evaluated[0] else None
    return out


def frame_scores(models: dict[str, tuple[Predictor, tuple[int, int]]], frames: Sequence[RealFrame],
                 min_depth: float = 0.1, constant: bool = True) -> list[dict]:
    """One row per (model, frame): ``{"model", "source", "frame", "raw", "median"}``, each of the last
    two ``{"abs_rel", "delta1"}`` or None where the frame has no valid pixel. ``models``: label ->
    (predictor, its input (h, w)). With ``constant``, a ``constant`` row predicts
    ``oracle_constant(frames)`` on the whole frame."""
    if CONSTANT in models:
        raise ValueError(f"models: the label {CONSTANT!r} is the constant baseline's")
    rows = []
    if constant:
        value = np.float32(oracle_constant(frames, min_depth))
        rows += [{"model": CONSTANT, "source": f.source, "frame": f.name,
                  **_scores(f, np.full(f.depth.shape, value), min_depth)} for f in frames]
    for label, (predict, input_hw) in models.items():
        rows += [{"model": label, "source": f.source, "frame": f.name,
                  **_scores(f, predict_full(predict, input_hw, f.image), min_depth)} for f in frames]
    return rows


def _mean(rows: list[dict]) -> dict:
    done = [r for r in rows if r["raw"] is not None]
    out: dict = {key: {s: (float(np.mean([r[key][s] for r in done])) if done else None) for s in SCORES}
                 for key in ALIGNMENTS}
    out["frames"] = len(done)
    return out


def _mean_of_sources(per_source: list[dict]) -> dict:
    done = [m for m in per_source if m["frames"]]
    out: dict = {key: {s: (float(np.mean([m[key][s] for m in done])) if done else None) for s in SCORES}
                 for key in ALIGNMENTS}
    out["frames"] = sum(m["frames"] for m in done)
    out["sources"] = len(done)
    return out


def summarize_frame_scores(rows: Sequence[dict]) -> dict:
    """``{model: {source: {"raw": {...}, "median": {...}, "frames": n}}}`` from ``frame_scores`` rows:
    per-image means over each source's frames; ``all`` over every frame; ``SOURCE_MEAN`` the mean of the
    sources' means and ``INDOOR`` the same without ``OUTDOOR`` sources (each with ``sources``, how many
    had a valid frame). ``frames`` counts the frames that had a valid pixel (None scores where none had)."""
    results: dict = {}
    for label in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == label]
        per = {src: _mean([r for r in mine if r["source"] == src]) for src in dict.fromkeys(r["source"] for r in mine)}
        results[label] = dict(per)
        results[label][ALL] = _mean(mine)
        results[label][SOURCE_MEAN] = _mean_of_sources(list(per.values()))
        results[label][INDOOR] = _mean_of_sources([m for src, m in per.items() if src not in OUTDOOR])
    return results


def score_real_frames(models: dict[str, tuple[Predictor, tuple[int, int]]], frames: Sequence[RealFrame],
                      min_depth: float = 0.1, constant: bool = True) -> dict:
    """AbsRel and delta1 (threshold ``DELTA1_THRESHOLD``), raw and median-aligned (per image: pred *=
    median(gt) / median(pred) over the valid pixels), of each model and, with ``constant``, of the
    ``constant`` baseline, per source and over ``all`` frames, averaged per image.

    Valid pixels: ``min_depth < gt <= frame.max_depth``, inside the model's crop, prediction > 0. Each
    model sees the centre crop of its input's aspect (``predict_full``), scored at the ground truth's
    resolution. The constant baseline is an ORACLE constant: raw, it predicts the median of all valid
    ground-truth pixels pooled over ``frames`` (``oracle_constant``); median-aligned, any constant
    becomes each image's ground-truth median. It covers the whole frame.

    Returns ``{label: {source: {"raw": {"abs_rel", "delta1"}, "median": {...}, "frames": n}}}``."""
    return summarize_frame_scores(frame_scores(models, frames, min_depth, constant))


def _cell(scores: dict) -> str:
    if scores["abs_rel"] is None:
        return "-"
    return f"{scores['abs_rel']:.3f} / {scores['delta1']:.3f}"


def format_real_frames_table(results: dict) -> str:
    """Markdown: a row per model, per source (and ``all``) two columns, median-aligned and raw, each
    cell ``AbsRel / delta1``."""
    sources = list(dict.fromkeys(s for per_source in results.values() for s in per_source if s not in SUMMARIES))
    sources += [s for s in SUMMARIES if any(s in r for r in results.values())]
    head = "| model | " + " | ".join(f"{s} median | {s} raw" for s in sources) + " |"
    frames = {s: max((r[s]["frames"] for r in results.values() if s in r), default=0) for s in sources}
    count = "| frames | " + " | ".join(f"{frames[s]} | {frames[s]}" for s in sources) + " |"
    lines = [head, "|---|" + "---|" * (2 * len(sources)), count]
    for label, per_source in results.items():
        cells = [f"{_cell(per_source[s]['median'])} | {_cell(per_source[s]['raw'])}" if s in per_source else "- | -"
                 for s in sources]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def frames_summary(frames: Sequence[RealFrame]) -> list[dict]:
    """Per source: frame count, resolutions (HxW), valid-depth range and median (metres, before the
    caps), valid fraction and cap."""
    out = []
    for src in dict.fromkeys(f.source for f in frames):
        mine = [f for f in frames if f.source == src]
        d = np.concatenate([f.depth[f.depth > 0] for f in mine])
        out.append({"source": src, "frames": len(mine),
                    "resolutions": list(dict.fromkeys(f"{f.depth.shape[0]}x{f.depth.shape[1]}" for f in mine)),
                    "depth_min": float(d.min()), "depth_median": float(np.median(d)), "depth_max": float(d.max()),
                    "valid_fraction": float(d.size / sum(f.depth.size for f in mine)), "max_depth": mine[0].max_depth})
    return out


def format_frames_table(frames: Sequence[RealFrame]) -> str:
    """Markdown: a row per source with ``frames_summary``'s columns."""
    lines = ["| source | frames | resolution (HxW) | depth range (m) | median (m) | valid px | cap (m) |",
             "|---|---|---|---|---|---|---|"]
    for s in frames_summary(frames):
        lines.append(f"| {s['source']} | {s['frames']} | {', '.join(s['resolutions'])} | "
                     f"{s['depth_min']:.2f}..{s['depth_max']:.2f} | {s['depth_median']:.2f} | "
                     f"{100 * s['valid_fraction']:.1f}% | {s['max_depth']:g} |")
    return "\n".join(lines)
