"""Occlusion accuracy where the true depth is known: a synthetic trajectory (data.synthetic).

A cube is fixed in the world, half sunk into the surface seen at the image centre of the first
frame, and followed along the camera path (the trajectory's poses). Per frame, the visibility mask
from the model's depth is compared with the one from the true depth: IoU pooled over frames
(sum of intersections / sum of unions) and per-pixel agreement over the object's pixels. The
model's depth is scored three ways:

- ``raw``: as the demo uses it by default (metric as predicted; relative aligned to the image centre
  taken as ``NOMINAL_ANCHOR_DEPTH`` m away, which is not the truth);
- ``anchored``: aligned each frame to one true metric point at the image centre, as an AR hit
  test would give (for a metric model this corrects its scale);
- ``oracle``: least squares in disparity against every true pixel (the best global scale and shift
  in the squared-error sense; with a nearly flat prediction it collapses to the mean disparity).

``baseline_all_visible`` is the score of drawing the object with no occlusion at all.

Pixel convention (``keras_depth.geometry``): the AR renderer and the synthetic trajectory both put
pixel centres at ``+0.5``, so the trajectory's intrinsics are used as they are. ``keras-depth ar-eval`` runs this.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Optional

import numpy as np

from keras_depth.ar.composite import composite, visibility_mask
from keras_depth.ar.demo import depth_range, draw_label
from keras_depth.ar.pipeline import ScenePipeline
from keras_depth.ar.placement import NOMINAL_ANCHOR_DEPTH, MetricPoint, depth_to_disparity, disparity_to_depth
from keras_depth.ar.render import cube_mesh, render_mesh, rotation_y
from keras_depth.ar.video import Mp4Writer, write_png
from keras_depth.data.synthetic import render_trajectory
from keras_depth.geometry import Intrinsics, lstsq_scale_shift
from keras_depth.runtime.tflite import TFLiteDepthEstimator
from keras_depth.visualize import colorize

MODES = ("raw", "anchored", "oracle")


def synthetic_occlusion(model_path: str | Path, seed: int = 0, count: int = 24, height: int = 180, width: int = 240,
                        split: str = "val", index: int = 0, out: Optional[Path] = None, png_every: int = 0,
                        size_fraction: float = 0.25, yaw: float = 30.0, camera=None) -> dict:
    """Occlusion IoU and pixel agreement of ``model_path``'s depth against the true depth of synthetic
    trajectory ``index`` (``count`` frames of ``height`` x ``width``); with ``out``, also the 4-panel mp4
    (and every ``png_every``-th panel as PNG). ``camera`` (``CameraRanges``, e.g. the training
    config's) sets the path's fov, height and pitch; None keeps the generator's random camera, for
    which a metric model's raw depth is not calibrated. Returns the scores (JSON-ready)."""
    import cv2

    traj = render_trajectory(seed, count, height, width, split=split, index=index, camera=camera)
    k = Intrinsics(*[float(v) for v in traj.intrinsics[0]])
    est = TFLiteDepthEstimator(model_path)
    cx, cy = width // 2, height // 2
    true = np.where(traj.depth > 0, traj.depth, np.nan).astype(np.float32)
    z0 = float(true[0, cy, cx])
    size = size_fraction * z0
    r0, t0 = traj.pose[0][:3, :3], traj.pose[0][:3, 3]
    world_center = r0 @ k.backproject(cx, cy, z0) + t0
    cube = cube_mesh(1.0)
    pipes = {
        "raw": ScenePipeline(est, MetricPoint(cx, cy, NOMINAL_ANCHOR_DEPTH)),
        "anchored": ScenePipeline(est, None, {i: [MetricPoint(cx, cy, float(true[i, cy, cx]))] for i in range(count)}),
    }
    sums = {m: {"inter": 0, "union": 0, "agree": 0, "object": 0, "visible_model": 0} for m in MODES}
    visible_true_total = 0
    writer = None
    pngs = []
    vrange = None
    for i in range(count):
        rgb, depth_true = traj.image[i], true[i]
        r, t = traj.pose[i][:3, :3], traj.pose[i][:3, 3]
        placed = cube.transformed(rotation=r.T @ r0 @ rotation_y(yaw), translation=r.T @ (world_center - t), scale=size)
        obj = render_mesh(placed, k, width, height)
        vis_true = visibility_mask(obj.depth, depth_true)
        visible_true_total += int(vis_true.sum())
        raw = est.predict_depth(rgb)
        scenes = {m: p.process_depth(raw, rgb, i).depth for m, p in pipes.items()}
        rel = depth_to_disparity(raw)
        gt_small = cv2.resize(depth_true, (raw.shape[1], raw.shape[0]), interpolation=cv2.INTER_NEAREST)
        ok = np.isfinite(rel) & np.isfinite(gt_small)
        s, sh = lstsq_scale_shift(rel[ok].astype(np.float64), 1.0 / gt_small[ok].astype(np.float64))
        disp = (s * rel + sh).astype(np.float32)
        scenes["oracle"] = disparity_to_depth(np.where(disp > 0, disp, np.nan))
        obj_mask = obj.mask
        for m in MODES:
            scene = cv2.resize(scenes[m], (width, height), interpolation=cv2.INTER_LINEAR)
            scenes[m] = scene
            vis = visibility_mask(obj.depth, scene)
            acc = sums[m]
            acc["inter"] += int((vis & vis_true).sum())
            acc["union"] += int((vis | vis_true).sum())
            acc["agree"] += int((vis == vis_true)[obj_mask].sum())
            acc["object"] += int(obj_mask.sum())
            acc["visible_model"] += int(vis.sum())
        if out is not None:
            shown = "anchored"
            comp_model, _ = composite(rgb, scenes[shown], obj)
            comp_true, _ = composite(rgb, depth_true, obj)
            if vrange is None:
                vrange = depth_range(depth_true)
            panel = np.concatenate([comp_model, comp_true, colorize(scenes[shown], *vrange), colorize(depth_true, *vrange)], axis=1)
            for j, label in enumerate(("model depth", "true depth", "model (anchored)", "true")):
                draw_label(panel, label, (4 + j * width, 14), 0.4)
            if writer is None:
                writer = Mp4Writer(out, 10.0, (panel.shape[1], panel.shape[0]))
            writer.write(panel)
            if png_every and i % png_every == 0:
                png = out.with_name(f"{out.stem}_{i:05d}.png")
                write_png(png, panel)
                pngs.append(str(png))
    if writer is not None:
        writer.close()
    res = {
        "model": str(model_path), "semantics": est.manifest.output.semantics,
        "trajectory": {"seed": seed, "split": split, "index": index, "count": count, "height": height, "width": width,
                       "camera": dataclasses.asdict(camera) if camera is not None else "generator default (random)",
                       "hfov_deg": math.degrees(2 * math.atan(width / (2 * k.fx)))},
        "cube": {"size_m": size, "first_frame_depth_m": z0}, "visible_true_pixels": visible_true_total,
        "out": str(out) if out else None, "pngs": pngs,
    }
    # The trivial answer "always visible" (no occlusion at all), for scale.
    obj_total = sums["raw"]["object"]
    res["baseline_all_visible"] = {"iou": visible_true_total / obj_total if obj_total else 1.0,
                                   "pixel_agreement": visible_true_total / obj_total if obj_total else 1.0}
    for m in MODES:
        a = sums[m]
        res[m] = {"iou": a["inter"] / a["union"] if a["union"] else 1.0,
                  "pixel_agreement": a["agree"] / a["object"] if a["object"] else 1.0,
                  "visible_model_pixels": a["visible_model"]}
    return res

