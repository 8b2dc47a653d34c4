"""Per frame: the exported model's depth -> aligned (optionally stabilised) scene depth.

Used by the demo and by the temporal evaluation, so the flicker measured is that of the depth the
demo occludes with. Alignment and smoothing happen at the model's output resolution.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from keras_depth.alignment import align_to_points
from keras_depth.ar.placement import (
    IDENTITY, Alignment, MetricPoint, depth_to_disparity, disparity_to_depth, points_for_frame,
)
from keras_depth.ar.temporal import TemporalSmoother, to_gray
from keras_depth.errors import UsageError


@dataclasses.dataclass
class SceneFrame:
    depth: np.ndarray  # float32 [h, w] aligned depth (metres when metric or aligned to metric), NaN invalid
    disparity: np.ndarray  # float32 [h, w] its inverse
    raw_depth: np.ndarray  # the model's depth per the manifest (relative or metric)
    alignment: Alignment
    gray: np.ndarray  # float32 [h, w] luma of the frame at the output resolution
    aligned: bool  # False when a needed fit failed and the last good alignment was reused


class ScenePipeline:
    """Relative models are aligned each frame to ``anchor`` (a pixel of the frame with its metric
    depth) plus any sparse metric points; metric models only to sparse points, when given. The fit
    is the robust one of ``keras_depth.alignment`` by the model's semantics: a scale for depth
    (metric or relative) models, scale and shift in disparity for affine-disparity models."""

    def __init__(self, estimator, anchor: Optional[MetricPoint] = None,
                 sparse_points: Optional[dict] = None, smoother: Optional[TemporalSmoother] = None):
        self.estimator = estimator
        out = estimator.manifest.output
        self.semantics = out.semantics
        self.relative = out.semantics != "metric"
        self.out_hw = (out.height, out.width)
        self.anchor = anchor
        self.sparse_points = sparse_points
        self.smoother = smoother
        self._last = IDENTITY
        self.fit_failures = 0

    def references(self, frame_hw: tuple[int, int], index: int) -> list[MetricPoint]:
        """The metric points of frame ``index``, in output-map pixels."""
        sy, sx = self.out_hw[0] / frame_hw[0], self.out_hw[1] / frame_hw[1]
        pts = points_for_frame(self.sparse_points, index)
        for p in pts:
            if not (-0.5 <= p.x < frame_hw[1] - 0.5 and -0.5 <= p.y < frame_hw[0] - 0.5):
                raise UsageError(f"sparse points: ({p.x:g}, {p.y:g}) of frame {index} lies outside the "
                                 f"{frame_hw[1]}x{frame_hw[0]} input frame")
        if self.relative and self.anchor is not None:
            pts = pts + [self.anchor]
        return [p.scaled(sx, sy) for p in pts]

    def fit(self, raw: np.ndarray, rel_disp: np.ndarray, refs: list[MetricPoint]) -> Alignment:
        """The disparity alignment (metric = scale * relative + shift) to ``refs``."""
        points = [(p.x, p.y, p.depth) for p in refs]
        if self.semantics == "affine_disparity":
            fit = align_to_points(rel_disp, points, "affine_disparity")
            return Alignment(fit.scale, fit.shift)
        # Depth up to scale: depth * s in disparity is disparity / s.
        return Alignment(1.0 / align_to_points(raw, points, self.semantics).scale, 0.0)

    def process(self, rgb: np.ndarray, index: int) -> SceneFrame:
        return self.process_depth(self.estimator.predict_depth(rgb), rgb, index)

    def process_depth(self, raw: np.ndarray, rgb: np.ndarray, index: int) -> SceneFrame:
        """As :meth:`process`, from the model's depth already predicted for ``rgb``."""
        import cv2

        raw = np.asarray(raw, np.float32)
        if raw.shape != self.out_hw:
            raise UsageError(f"model output {raw.shape} disagrees with the manifest's {self.out_hw}")
        rel_disp = depth_to_disparity(raw)
        refs = self.references(rgb.shape[:2], index)
        alignment, ok = IDENTITY, True
        if refs:
            try:
                alignment = self._last = self.fit(raw, rel_disp, refs)
            except UsageError:
                alignment, ok = self._last, False
                self.fit_failures += 1
        gray = to_gray(cv2.resize(rgb, (self.out_hw[1], self.out_hw[0]), interpolation=cv2.INTER_AREA))
        if self.smoother is not None:
            alignment = self.smoother.smooth_alignment(alignment)
        disp = alignment.disparity(rel_disp)
        disp = np.where(disp > 0, disp, np.nan).astype(np.float32)
        if self.smoother is not None:
            disp = self.smoother.smooth_disparity(disp, gray)
        return SceneFrame(disparity_to_depth(disp), disp, raw, alignment, gray, ok)
