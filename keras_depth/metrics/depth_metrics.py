"""The depth metrics: the ONE implementation that evaluators and the Keras metrics wrap.

Definitions follow Eigen et al. (NIPS 2014, Sec. 4.1) as used by Monodepth2's ``compute_errors``:
AbsRel ``mean|g-p|/g``, SqRel ``mean (g-p)^2/g``, RMSE ``sqrt(mean (g-p)^2)``,
RMSElog ``sqrt(mean (ln g - ln p)^2)``, log10 ``mean|log10 g - log10 p|`` and the threshold
accuracies ``delta_k = mean[max(g/p, p/g) < 1.25^k]``.

A pixel is evaluated where the mask says valid, ``gt`` is finite and ``> 0``, and, when caps are
given, ``min_depth < gt < max_depth`` (strict, as in the KITTI/Monodepth2 protocol). Alignment is
fitted on exactly those pixels; afterwards the prediction is clipped to ``[min_depth, max_depth]``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from keras_depth.geometry import lstsq_scale_shift

METRIC_NAMES: tuple[str, ...] = (
    "abs_rel",
    "sq_rel",
    "rmse",
    "rmse_log",
    "log10",
    "delta1",
    "delta2",
    "delta3",
)
ALIGNMENTS: tuple[str, ...] = ("none", "median", "lstsq_depth", "lstsq_disparity")
AVERAGINGS: tuple[str, ...] = ("per_image", "pooled")

# Predictions are clamped to this floor before logs and ratios so that a non-positive prediction
# scores as a (very) wrong depth instead of turning every metric into NaN.
_PRED_FLOOR = 1e-8
# Disparity floor for "lstsq_disparity" when no max_depth is given (MiDaS caps at 1/depth_cap).
_DISPARITY_FLOOR = 1e-8


def _as_bhw(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    elif a.ndim == 4:
        if a.shape[-1] != 1:
            raise ValueError(f"{name}: expected [B,H,W,1], got shape {a.shape}")
        a = a[..., 0]
    elif a.ndim != 3:
        raise ValueError(f"{name}: expected [H,W], [B,H,W] or [B,H,W,1], got shape {a.shape}")
    return a


def _check_options(alignment: str, averaging: str, min_depth: float | None, max_depth: float | None) -> None:
    if alignment not in ALIGNMENTS:
        raise ValueError(f"alignment: expected one of {ALIGNMENTS}, got {alignment!r}")
    if averaging not in AVERAGINGS:
        raise ValueError(f"averaging: expected one of {AVERAGINGS}, got {averaging!r}")
    if min_depth is not None and max_depth is not None and not (0 <= min_depth < max_depth):
        raise ValueError(f"depth caps: expected 0 <= min_depth < max_depth, got {min_depth}, {max_depth}")


def valid_mask(
    gt: np.ndarray,
    mask: np.ndarray | None = None,
    min_depth: float | None = None,
    max_depth: float | None = None,
) -> np.ndarray:
    """Boolean [B,H,W]: mask > 0.5, gt finite and > 0, and strictly inside the caps when given."""
    gt = _as_bhw(gt, "gt")
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(gt) & (gt > 0)
        if mask is not None:
            valid &= _as_bhw(mask, "mask") > 0.5
        if min_depth is not None:
            valid &= gt > min_depth
        if max_depth is not None:
            valid &= gt < max_depth
    return valid


def align_prediction(
    gt: np.ndarray,
    pred: np.ndarray,
    alignment: str,
    max_depth: float | None = None,
    disparity_floor: float | None = None,
) -> np.ndarray:
    """Align the valid-pixel vectors of one image (``gt``, ``pred`` are 1-D) -> aligned pred."""
    if alignment == "none":
        return pred
    if alignment == "median":
        # Monodepth2 / Zhou et al. 2017 median scaling.
        return pred * (np.median(gt) / max(np.median(pred), _PRED_FLOOR))
    if alignment == "lstsq_depth":
        s, t = lstsq_scale_shift(pred, gt)
        return s * pred + t
    if alignment == "lstsq_disparity":
        # MiDaS evaluation: fit scale and shift in disparity space, cap, back to depth.
        floor = disparity_floor if disparity_floor is not None else (
            1.0 / max_depth if max_depth is not None else _DISPARITY_FLOOR
        )
        pred_disp = 1.0 / np.maximum(pred, _PRED_FLOOR)
        s, t = lstsq_scale_shift(pred_disp, 1.0 / gt)
        return 1.0 / np.maximum(s * pred_disp + t, floor)
    raise ValueError(f"alignment: expected one of {ALIGNMENTS}, got {alignment!r}")


def _errors(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The metrics over 1-D vectors of valid pixels, in METRIC_NAMES order."""
    pred = np.maximum(pred, _PRED_FLOOR)
    diff = gt - pred
    ratio = np.maximum(gt / pred, pred / gt)
    return np.array(
        [
            np.mean(np.abs(diff) / gt),
            np.mean(diff**2 / gt),
            np.sqrt(np.mean(diff**2)),
            np.sqrt(np.mean((np.log(gt) - np.log(pred)) ** 2)),
            np.mean(np.abs(np.log10(gt) - np.log10(pred))),
            np.mean(ratio < 1.25),
            np.mean(ratio < 1.25**2),
            np.mean(ratio < 1.25**3),
        ]
    )


def _aligned_valid_pixels(
    gt: Any,
    pred: Any,
    mask: Any,
    alignment: str,
    min_depth: float | None,
    max_depth: float | None,
    disparity_floor: float | None,
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per image: (gt, aligned and clipped pred) over valid pixels, or None when it has none."""
    g = _as_bhw(gt, "gt")
    p = _as_bhw(pred, "pred")
    if g.shape != p.shape:
        raise ValueError(f"pred: expected the shape of gt {g.shape}, got {p.shape}")
    if mask is not None and _as_bhw(mask, "mask").shape != g.shape:
        raise ValueError(f"mask: expected the shape of gt {g.shape}, got {np.shape(mask)}")
    valid = valid_mask(g, mask, min_depth, max_depth)
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    for b in range(g.shape[0]):
        v = valid[b]
        if not v.any():
            out.append(None)
            continue
        gv, pv = g[b][v], p[b][v]
        pv = align_prediction(gv, pv, alignment, max_depth, disparity_floor)
        if min_depth is not None or max_depth is not None:
            pv = np.clip(pv, min_depth, max_depth)
        out.append((gv, pv))
    return out


def per_image_metrics(
    gt: Any,
    pred: Any,
    mask: Any = None,
    *,
    alignment: str = "none",
    min_depth: float | None = None,
    max_depth: float | None = None,
    disparity_floor: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """-> (values [B, len(METRIC_NAMES)] float64, NaN rows for skipped images; evaluated [B] bool)."""
    _check_options(alignment, "per_image", min_depth, max_depth)
    pairs = _aligned_valid_pixels(gt, pred, mask, alignment, min_depth, max_depth, disparity_floor)
    values = np.full((len(pairs), len(METRIC_NAMES)), np.nan)
    evaluated = np.zeros(len(pairs), dtype=bool)
    for b, pair in enumerate(pairs):
        if pair is not None:
            values[b] = _errors(*pair)
            evaluated[b] = True
    return values, evaluated


def compute_metrics(
    gt: Any,
    pred: Any,
    mask: Any = None,
    *,
    alignment: str = "none",
    min_depth: float | None = None,
    max_depth: float | None = None,
    averaging: str = "per_image",
    disparity_floor: float | None = None,
) -> dict[str, float]:
    """The depth metrics of ``pred`` against ``gt`` ([H,W], [B,H,W] or [B,H,W,1], depth in metres).

    ``alignment``: "none"; "median" (per image, pred *= median(gt)/median(pred)); "lstsq_depth"
    (per-image least-squares scale and shift in depth); "lstsq_disparity" (per-image least-squares
    scale and shift of 1/pred onto 1/gt, disparity floored at ``disparity_floor``, by default
    1/max_depth or 1e-8, then back to depth). ``averaging``: "per_image" (mean over evaluated images
    of per-image metrics) or "pooled" (all valid pixels of all images at once; alignment is still
    per image). Images without a valid pixel are skipped.

    Returns every name in METRIC_NAMES (NaN when no image was evaluated), plus ``n_images`` (images
    evaluated) and ``n_skipped`` (images without a valid pixel).
    """
    _check_options(alignment, averaging, min_depth, max_depth)
    pairs = _aligned_valid_pixels(gt, pred, mask, alignment, min_depth, max_depth, disparity_floor)
    kept = [p for p in pairs if p is not None]
    if not kept:
        values = np.full(len(METRIC_NAMES), np.nan)
    elif averaging == "per_image":
        values = np.mean([_errors(g, p) for g, p in kept], axis=0)
    else:
        values = _errors(np.concatenate([g for g, _ in kept]), np.concatenate([p for _, p in kept]))
    result: dict[str, float] = {name: float(v) for name, v in zip(METRIC_NAMES, values)}
    result["n_images"] = len(kept)
    result["n_skipped"] = len(pairs) - len(kept)
    return result


class MetricAccumulator:
    """Per-image metrics accumulated over batches; ``result()`` is their mean over evaluated images."""

    def __init__(
        self,
        *,
        alignment: str = "none",
        min_depth: float | None = None,
        max_depth: float | None = None,
        disparity_floor: float | None = None,
    ) -> None:
        _check_options(alignment, "per_image", min_depth, max_depth)
        self.alignment = alignment
        self.min_depth = min_depth
        self.max_depth = max_depth
        self.disparity_floor = disparity_floor
        self.reset()

    def reset(self) -> None:
        self._sums = np.zeros(len(METRIC_NAMES))
        self._n_images = 0
        self._n_skipped = 0

    def update(self, gt: Any, pred: Any, mask: Any = None) -> np.ndarray:
        """Add a batch; returns its per-image values ([B, n_metrics], NaN rows for skipped images)."""
        values, evaluated = per_image_metrics(
            gt,
            pred,
            mask,
            alignment=self.alignment,
            min_depth=self.min_depth,
            max_depth=self.max_depth,
            disparity_floor=self.disparity_floor,
        )
        self._sums += values[evaluated].sum(axis=0)
        self._n_images += int(evaluated.sum())
        self._n_skipped += int((~evaluated).sum())
        return values

    def result(self) -> dict[str, float]:
        n = self._n_images
        values = self._sums / n if n else np.full(len(METRIC_NAMES), np.nan)
        out: dict[str, float] = {name: float(v) for name, v in zip(METRIC_NAMES, values)}
        out["n_images"] = n
        out["n_skipped"] = self._n_skipped
        return out
