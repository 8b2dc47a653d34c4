"""The one evaluation protocol: every number goes through ``keras_depth.metrics.depth_metrics`` (the
one metrics implementation) under the config's ``eval.*`` (alignment, caps, crop, averaging), and the
protocol is printed in every output."""
from __future__ import annotations

import time
from typing import Optional, Sequence

import cv2
import numpy as np

from keras_depth.config import Config
from keras_depth.errors import UsageError
from keras_depth.evaluation.eval_sets import EvalSet
from keras_depth.evaluation.predictors import Predictor
from keras_depth.evaluation.variant_id import VariantId
from keras_depth.metrics.depth_metrics import compute_metrics, per_image_metrics
from keras_depth.spec import DepthSpec


def depth_caps(config: Config) -> tuple[float, float]:
    """``eval.min_depth``/``eval.max_depth``, each defaulting to the model spec's range (as the config
    documents): without caps an aligned relative prediction near zero depth reads AbsRel in the
    thousands."""
    e, spec = config.eval, DepthSpec.from_dict(config.model.spec)
    lo = e.min_depth if e.min_depth is not None else spec.min_depth
    hi = e.max_depth if e.max_depth is not None else spec.max_depth
    if not lo < hi:
        raise UsageError(f"eval.min_depth/eval.max_depth: the caps {lo}, {hi} (model.spec fills a missing one) "
                         "need min < max")
    return float(lo), float(hi)


def protocol(config: Config) -> dict:
    e = config.eval
    lo, hi = depth_caps(config)
    return {"alignment": e.alignment, "min_depth": lo, "max_depth": hi,
            "crop": e.crop, "averaging": e.averaging}


def protocol_label(config: Config) -> str:
    return ", ".join(f"{k}={v}" for k, v in protocol(config).items())


def crop_mask(mask: np.ndarray, crop: Optional[Sequence[float]]) -> np.ndarray:
    """``mask`` with everything outside ``crop`` ([top, bottom, left, right] fractions) zeroed."""
    if not crop:
        return mask
    top, bottom, left, right = crop
    h, w = mask.shape[-2:]
    keep = np.zeros_like(mask)
    keep[..., int(top * h):int(bottom * h), int(left * w):int(right * w)] = 1
    return mask * keep


def to_gt_size(pred: np.ndarray, hw: tuple[int, ...]) -> np.ndarray:
    """A prediction at the model's resolution resized (bilinear) to the ground truth's."""
    pred = np.asarray(pred, np.float32)
    if pred.shape == tuple(hw):
        return pred
    return cv2.resize(pred, (int(hw[1]), int(hw[0])), interpolation=cv2.INTER_LINEAR)


def evaluate_predictors(predictors: dict[VariantId, Predictor], data: EvalSet, config: Config) -> dict[VariantId, dict]:
    """Metrics (and ms per frame), predictions and per-image metrics of each predictor on ``data``
    under the config's protocol."""
    e = config.eval
    mask = crop_mask(data.mask, e.crop)
    lo, hi = depth_caps(config)
    results = {}
    for vid, predict in predictors.items():
        start = time.perf_counter()
        preds = np.stack([to_gt_size(predict(img), data.depth.shape[1:]) for img in data.images])
        ms = (time.perf_counter() - start) * 1000 / len(data.images)
        kw = dict(alignment=e.alignment, min_depth=lo, max_depth=hi)
        m = compute_metrics(data.depth, preds, mask, averaging=e.averaging, **kw)
        m["ms_per_frame"] = ms
        per_image, _ = per_image_metrics(data.depth, preds, mask, **kw)
        results[vid] = {"metrics": m, "predictions": preds, "per_image": per_image}
    return results
