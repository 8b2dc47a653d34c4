"""How good is metric scale from N sparse points? On the real RGB-D frames (``real_frames``), N valid
ground-truth pixels per image stand in for an AR session's tracked points: their depth gets
multiplicative noise and a fraction of them are outliers (a wrong match, a hit test on another
surface). The prediction is aligned to them (``keras_depth.alignment``) and scored on every valid
pixel, against the raw prediction and the per-image oracle, median scaling with all ground truth.

Sampling, per image and trial (seeded): N distinct valid pixels inside the model's crop; each
point's depth is ``gt * (1 + noise * n)``, ``n ~ N(0, 1)``; each point is independently an outlier
with probability ``outlier_fraction``, its depth then multiplied by a factor log-uniform in
[1.5, 4] or its inverse (chosen by a fair coin), so an outlier is always at least 50 % off.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from keras_depth.alignment import align_to_points
from keras_depth.evaluation.predictors import Predictor
from keras_depth.evaluation.real_frames import SCORES, RealFrame, predict_full
from keras_depth.metrics.depth_metrics import METRIC_NAMES, per_image_metrics

ORACLE = "oracle"
RAW = "raw"


@dataclasses.dataclass(frozen=True)
class SparseProtocol:
    counts: tuple[int, ...] = (1, 3, 10, 30, 100)
    noise: float = 0.05
    outlier_fraction: float = 0.10
    trials: int = 10
    seed: int = 0
    min_depth: float = 0.1


def sample_points(gt: np.ndarray, valid: np.ndarray, n: int, rng: np.random.Generator,
                  noise: float, outlier_fraction: float) -> np.ndarray:
    """Rows ``(x, y, depth)``: n distinct valid pixels, their depth noised, some made outliers."""
    ys, xs = np.nonzero(valid)
    pick = rng.choice(len(xs), size=n, replace=False)
    x, y = xs[pick], ys[pick]
    depth = gt[y, x].astype(np.float64) * (1 + noise * rng.standard_normal(n))
    outlier = rng.random(n) < outlier_fraction
    factor = np.exp(rng.uniform(np.log(1.5), np.log(4.0), n)) ** rng.choice([-1.0, 1.0], n)
    depth = np.where(outlier, depth * factor, depth)
    return np.stack([x, y, np.maximum(depth, 1e-3)], axis=1).astype(np.float64)


def _score(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray, alignment: str = "none") -> dict[str, float]:
    values, evaluated = per_image_metrics(gt, pred, valid & np.isfinite(pred) & (pred > 0), alignment=alignment)
    return {s: float(values[0, METRIC_NAMES.index(s)]) if evaluated[0] else float("nan") for s in SCORES}


def frame_rows(label: str, pred: np.ndarray, frame: RealFrame, protocol: SparseProtocol, semantics: str,
               rng: np.random.Generator) -> list[dict]:
    """Rows ``{"model", "source", "frame", "n", "abs_rel", "delta1"}``; ``n`` is a count, ``raw`` or
    ``oracle``. Scores average over the trials; a frame with fewer valid pixels than N is skipped."""
    with np.errstate(invalid="ignore"):
        valid = (frame.depth > protocol.min_depth) & (frame.depth <= frame.max_depth) & np.isfinite(pred) & (pred > 0)
    base = {"model": label, "source": frame.source, "frame": frame.name}
    rows = [{**base, "n": RAW, **_score(frame.depth, pred, valid)},
            {**base, "n": ORACLE, **_score(frame.depth, pred, valid, "median")}]
    # An affine-disparity model is aligned in disparity (scale and shift); its predictor gives depth.
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 1.0 / pred if semantics == "affine_disparity" else pred
    for n in protocol.counts:
        if valid.sum() < n:
            continue
        trials = []
        for _ in range(protocol.trials):
            points = sample_points(frame.depth, valid, n, rng, protocol.noise, protocol.outlier_fraction)
            fit = align_to_points(values, points, semantics)
            trials.append(_score(frame.depth, fit.apply(values), valid))
        rows.append({**base, "n": n, **{s: float(np.mean([t[s] for t in trials])) for s in SCORES}})
    return rows


def evaluate_sparse_alignment(models: dict[str, tuple[Predictor, tuple[int, int], str]], frames: Sequence[RealFrame],
                              protocol: SparseProtocol = SparseProtocol()) -> list[dict]:
    """Per-frame rows for each model (label -> (predictor of depth, input (h, w), the model's output
    semantics: ``metric``, ``relative`` or ``affine_disparity``)). Each model draws the same points
    (the same seed per model)."""
    rows: list[dict] = []
    for label, (predict, input_hw, semantics) in models.items():
        rng = np.random.default_rng(protocol.seed)
        for frame in frames:
            rows += frame_rows(label, predict_full(predict, input_hw, frame.image), frame, protocol, semantics, rng)
    return rows


def summarize(rows: Sequence[dict]) -> dict:
    """``{model: {n: {"abs_rel", "delta1", "frames"}}}``: per-image means over all frames."""
    out: dict = {}
    for r in rows:
        out.setdefault(r["model"], {}).setdefault(r["n"], []).append(r)
    return {m: {n: {**{s: float(np.nanmean([r[s] for r in rs])) for s in SCORES}, "frames": len(rs)}
                for n, rs in per_n.items()} for m, per_n in out.items()}


def format_table(summary: dict, protocol: SparseProtocol) -> str:
    """Markdown: a row per model; columns raw, N = each count, oracle; cells ``AbsRel / delta1``."""
    cols = [RAW, *protocol.counts, ORACLE]
    head = "| model | " + " | ".join("raw" if c == RAW else "oracle (median, all GT)" if c == ORACLE else f"N = {c}"
                                    for c in cols) + " |"
    lines = [head, "|---|" + "---|" * len(cols)]
    for model, per_n in summary.items():
        cells = [f"{per_n[c]['abs_rel']:.3f} / {per_n[c]['delta1']:.3f}" if c in per_n else "-" for c in cols]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
