"""Does an edge-aware upsampling guided by the RGB image help ``predict``? Measured, not assumed.

    .venv/bin/python -m benchmarks.bench_refine            # the shipped model, every real RGB-D frame

The model's map is upsampled bilinearly from its native grid to the frame (what ``predict`` does);
the candidate then runs He et al.'s guided filter (ECCV 2010 / TPAMI 2013) on it, the frame's grey
image as the guide, at a few radii. Scored per source on ``../shared/data/rgbd`` as the evaluation
scores (AbsRel / delta1 after median alignment, valid ground truth only), over all valid pixels and over
depth-edge pixels only (where the ground truth's log-depth changes by more than 10 % to a neighbour).
Prints markdown.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks import doc_sections

EDGE_LOG_STEP = np.log(1.10)
TITLE = "# Depth on your own images: predict and the Python API"


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter, grey guide in [0, 1]: q = mean(a) I + mean(b), with a = cov(I, p) /
    (var(I) + eps) and b = mean(p) - a mean(I) over (2r+1)^2 windows."""
    import cv2

    box = lambda x: cv2.boxFilter(x, -1, (2 * radius + 1,) * 2, normalize=True, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    mean_i, mean_p = box(guide), box(src)
    a = (box(guide * src) - mean_i * mean_p) / (box(guide * guide) - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def edge_mask(gt: np.ndarray, valid: np.ndarray) -> np.ndarray:
    logd = np.log(np.where(valid, gt, 1.0))
    edge = np.zeros_like(valid)
    for axis in (0, 1):
        step = np.abs(np.diff(logd, axis=axis)) > EDGE_LOG_STEP
        both = np.diff(valid.astype(np.int8), axis=axis) == 0
        hit = step & both & np.take(valid, range(valid.shape[axis] - 1), axis=axis)
        pad = [(0, 1) if a == axis else (0, 0) for a in (0, 1)]
        edge |= np.pad(hit, pad) | np.pad(hit, [(p[1], p[0]) for p in pad])
    return edge & valid


def scores(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    p, g = pred[mask], gt[mask]
    if p.size == 0:
        return float("nan"), float("nan")
    p = p * (np.median(g) / np.median(p))
    return float(np.mean(np.abs(p - g) / g)), float(np.mean(np.maximum(p / g, g / p) < 1.25))


def main(argv=None) -> int:
    import cv2

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="default: the shipped model")
    p.add_argument("--radii", default="4,8,16")
    p.add_argument("--eps", type=float, default=1e-3)
    p.add_argument("--doc", default="docs/predict.md", help="the doc whose section this writes ('' for none)")
    args = p.parse_args(argv)
    from keras_depth.evaluation.real_frames import load_real_frames
    from keras_depth.inference.model import load
    from keras_depth.pretrained import resolve_model

    model = load(resolve_model(args.model))
    radii = [int(r) for r in args.radii.split(",")]
    variants = ["bilinear"] + [f"guided r{r}" for r in radii]
    rows: dict = {}
    for frame in load_real_frames():
        r = model.predict(frame.image)
        valid = (frame.depth > 0.1) & (frame.depth <= frame.max_depth) & r.valid & np.isfinite(r.values)
        edges = edge_mask(frame.depth, valid)
        guide = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        filled = np.where(r.valid, r.values, np.nanmedian(r.values)).astype(np.float32)
        preds = {"bilinear": filled}
        for rad in radii:
            preds[f"guided r{rad}"] = guided_filter(guide, filled, rad, args.eps)
        for v, pred in preds.items():
            rows.setdefault((frame.source, v), []).append((*scores(pred, frame.depth, valid), *scores(pred, frame.depth, edges)))
    sources = list(dict.fromkeys(s for s, _ in rows))
    out = [f"Guided-filter refinement of `{Path(model.source).name}` on every real RGB-D frame (eps {args.eps}); "
           "AbsRel / δ1 after median alignment, mean over each source's frames; all valid pixels, then depth-edge "
           "pixels (`python -m benchmarks.bench_refine`).", "",
           "| source | upsampling | all pixels | edge pixels |", "|---|---|---|---|"]
    means: dict = {}
    for s in sources:
        for v in variants:
            a = np.nanmean(np.array(rows[(s, v)]), axis=0)
            means.setdefault(v, []).append(a)
            out.append(f"| {s} | {v} | {a[0]:.4f} / {a[1]:.4f} | {a[2]:.4f} / {a[3]:.4f} |")
    out += ["", "| upsampling | mean over sources: all pixels | edge pixels |", "|---|---|---|"]
    for v in variants:
        a = np.nanmean(np.array(means[v]), axis=0)
        out.append(f"| {v} | {a[0]:.4f} / {a[1]:.4f} | {a[2]:.4f} / {a[3]:.4f} |")
    doc_sections.publish(out, args.doc, "benchmarks/bench_refine.py", TITLE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
