"""The AR demo: a virtual object in the camera image, hidden behind real surfaces (``keras-depth demo``).

Per frame: the exported model (ai-edge-litert, driven by its manifest) predicts depth; relative
depth is aligned to the anchor (and sparse metric points); the object is rasterised and shown only
where it is nearer than the scene. The output is side by side: composited | colour-mapped depth
(with the visible object's depth drawn in), with an FPS overlay. A JSON beside the mp4 records the
options and per-frame statistics.

Pixel convention (``keras_depth.geometry``): pixel ``(x, y)`` (integer indices) has its centre at
``(x + 0.5, y + 0.5)``; ``DemoOptions.intrinsics`` are given OpenCV-style (centres at integers) and
converted once (``Intrinsics.from_centered_pixels``).
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

from keras_depth.ar.composite import composite
from keras_depth.ar.obj import load_obj
from keras_depth.ar.pipeline import ScenePipeline
from keras_depth.ar.placement import NOMINAL_ANCHOR_DEPTH, MetricPoint, gt_sparse_points, load_sparse_points, sample
from keras_depth.ar.render import cube_mesh, render_mesh, rotation_x, rotation_y
from keras_depth.ar.temporal import DEFAULT_ALPHA, TemporalSmoother
from keras_depth.ar.video import Mp4Writer, open_source, write_png
from keras_depth.errors import UsageError
from keras_depth.geometry import DEFAULT_HFOV_DEG, Intrinsics
from keras_depth.io import atomic_write_text
from keras_depth.runtime.tflite import TFLiteDepthEstimator
from keras_depth.visualize import colorize

DEFAULT_MAX_WIDTH = 640
DEFAULT_SIZE_FRACTION = 0.2  # object edge, as a fraction of its distance, unless --size is given
DEFAULT_YAW_DEG = 30.0  # as FrameComposer.cubeAhead: three faces show


@dataclasses.dataclass
class DemoOptions:
    """What ``keras-depth demo`` runs with; the field names are its flags' (``--anchor-pixel`` ->
    ``anchor_pixel``), and error messages name those flags."""

    model: str  # an exported .tflite with its manifest (.json) beside it
    input: str  # a video file, a folder of images, or a camera index (0, 1, ...)
    out: str  # the side-by-side .mp4 to write (atomically)
    object: str = "cube"  # 'cube' (shaded) or PATH.obj (textured via its .mtl map_Kd)
    anchor_pixel: Optional[tuple[int, int]] = None  # (x, y) in input-frame pixels; default the centre
    distance: Optional[float] = None  # metres along the ray through the image centre
    pick: bool = False  # click the anchor pixel on the first frame
    size: Optional[float] = None  # object edge in metres; default DEFAULT_SIZE_FRACTION x its distance
    yaw: float = DEFAULT_YAW_DEG
    spin: float = 0.0  # added yaw per frame, degrees
    hfov: Optional[float] = None  # horizontal FOV of the input frames, degrees (default 65, as depth-core)
    intrinsics: Optional[tuple[float, float, float, float]] = None  # fx, fy, cx, cy; centres at integers
    sparse_points: Optional[str] = None  # a file of metric points (placement.load_sparse_points)
    sparse_from_gt: Optional[int] = None  # N ground-truth pixels per frame of --gt-depth as metric points
    gt_depth: Optional[str] = None  # a depth map, or a folder of them (one per input frame)
    depth_scale: Optional[float] = None  # --gt-depth value / scale = metres (default: the format's)
    stabilize: bool = False
    alpha: Optional[float] = None  # EMA weight of the new frame (default temporal.DEFAULT_ALPHA)
    max_frames: Optional[int] = None
    png_every: int = 0  # also save every Nth output frame as PNG beside the mp4
    max_width: int = DEFAULT_MAX_WIDTH
    threads: int = 2
    no_progress: bool = False

    def check(self) -> None:
        """One-line UsageErrors for combinations a parser cannot catch."""
        if Path(self.out).suffix.lower() != ".mp4":
            raise UsageError(f"--out: expected a path ending in .mp4, got {self.out!r}")
        if self.png_every < 0:
            raise UsageError(f"--png-every: expected N >= 0, got {self.png_every}")
        if self.anchor_pixel is not None and self.distance is not None:
            raise UsageError("--anchor-pixel and --distance are alternatives; give one")
        if self.hfov is not None and self.intrinsics is not None:
            raise UsageError("--hfov and --intrinsics are alternatives; give one")
        if self.hfov is not None and not 0 < self.hfov < 180:
            raise UsageError(f"--hfov: expected degrees in (0, 180), got {self.hfov}")
        if not Path(self.model).is_file():
            raise UsageError(f"--model: {self.model} not found")
        if (self.sparse_from_gt is None) != (self.gt_depth is None):
            raise UsageError("--sparse-from-gt N and --gt-depth PATH go together")
        if self.sparse_from_gt is not None and self.sparse_points is not None:
            raise UsageError("--sparse-points and --sparse-from-gt are alternatives; give one")


class Progress:
    """One stderr line, redrawn in place: ``[#####.....] 45/120  12.3 fps``."""

    def __init__(self, total: Optional[int], enabled: bool = True, width: int = 30):
        self.total, self.enabled, self.width = total, enabled, width

    def update(self, done: int, fps: float) -> None:
        if not self.enabled:
            return
        if self.total:
            filled = int(self.width * done / self.total)
            bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total}"
        else:
            bar = f"{done} frames"
        sys.stderr.write(f"\rdemo {bar}  {fps:5.1f} fps")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def draw_label(rgb: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.5) -> None:
    import cv2

    for color, thick in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(rgb, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)


def _processing_size(w: int, h: int, max_width: int) -> tuple[int, int]:
    s = min(1.0, max_width / w)
    # Even sizes: some mp4 decoders reject odd frame sizes.
    return max(2, int(round(w * s / 2)) * 2), max(2, int(round(h * s / 2)) * 2)


def depth_range(depth: np.ndarray, min_ratio: float = 2.0) -> tuple[float, float]:
    """A fixed colour range for the whole video (no colour flicker): the first frame's 2nd-98th
    percentiles, widened to at least ``min_ratio`` so a nearly flat prediction is not stretched."""
    v = depth[np.isfinite(depth) & (depth > 0)]
    if not v.size:
        return 0.1, 10.0
    lo, hi = float(np.percentile(v, 2)), float(np.percentile(v, 98))
    if hi < lo * min_ratio:
        mid = math.sqrt(lo * hi)
        lo, hi = mid / math.sqrt(min_ratio), mid * math.sqrt(min_ratio)
    return lo, hi


def pick_pixel(rgb: np.ndarray) -> tuple[int, int]:
    """The pixel clicked in a window showing ``rgb`` (any key without a click: the centre)."""
    import cv2

    clicked: list = []
    try:
        cv2.namedWindow("pick the anchor pixel")
    except cv2.error:
        raise UsageError("--pick: no display available (give --anchor-pixel X,Y instead)") from None
    cv2.setMouseCallback("pick the anchor pixel", lambda ev, x, y, *_: clicked.append((x, y)) if ev == cv2.EVENT_LBUTTONDOWN else None)
    cv2.imshow("pick the anchor pixel", rgb[..., ::-1])
    while not clicked and cv2.waitKey(30) < 0:
        pass
    cv2.destroyAllWindows()
    return clicked[-1] if clicked else (rgb.shape[1] // 2, rgb.shape[0] // 2)


def load_object(spec: str):
    if spec == "cube":
        return cube_mesh(1.0)
    if not spec.lower().endswith(".obj"):
        raise UsageError(f"--object: expected 'cube' or a path ending in .obj, got {spec!r}")
    # OBJ is y-up and faces +z towards an OpenGL camera looking down -z; ours is y-down, looking down +z.
    return load_obj(spec).transformed(rotation=rotation_x(180.0)).normalized(1.0)


def run_demo(options: DemoOptions) -> dict:
    """Write the side-by-side mp4 (and PNGs, and the summary JSON beside it); the summary."""
    options.check()
    out = Path(options.out)
    mesh = load_object(options.object)
    sparse, sparse_hw = (load_sparse_points(options.sparse_points) if options.sparse_points else None), None
    if options.sparse_from_gt is not None:
        sparse, sparse_hw = gt_sparse_points(options.gt_depth, options.sparse_from_gt, options.depth_scale, options.max_frames)
    source = open_source(options.input)
    est = TFLiteDepthEstimator(options.model, num_threads=options.threads)
    smoother = TemporalSmoother(options.alpha or DEFAULT_ALPHA) if options.stabilize else None
    stats = DemoRun(options, est, mesh, sparse, smoother, sparse_hw)
    total = source.count if options.max_frames is None else min(source.count or options.max_frames, options.max_frames)
    progress = Progress(total, enabled=not options.no_progress)
    writer = None
    pngs: list[str] = []
    t_start = time.perf_counter()
    try:
        with source:
            for i, frame in enumerate(source):
                if options.max_frames is not None and i >= options.max_frames:
                    break
                panel = stats.step(frame, i, pick=options.pick and i == 0)
                if writer is None:
                    writer = Mp4Writer(out, source.fps, (panel.shape[1], panel.shape[0]))
                writer.write(panel)
                if options.png_every and i % options.png_every == 0:
                    png = out.with_name(f"{out.stem}_{i:05d}.png")
                    write_png(png, panel)
                    pngs.append(str(png))
                progress.update(i + 1, stats.fps)
        progress.finish()
        if writer is None:
            raise UsageError(f"--input: {source.name} gave no frames")
        writer.close()
    except BaseException:
        progress.finish()
        if writer is not None:
            writer.close(keep=False)
        raise
    seconds = time.perf_counter() - t_start
    summary = stats.summary(seconds, pngs)
    atomic_write_text(out.with_suffix(".json"), json.dumps(summary, indent=2, sort_keys=True, default=str))
    print(f"wrote {out} ({writer.frames} frames, {writer.size[0]}x{writer.size[1]}, {writer.frames / seconds:.1f} fps overall)")
    for p in pngs:
        print(f"png: {p}")
    if stats.pipeline.fit_failures:
        print(f"note: the alignment fit failed on {stats.pipeline.fit_failures} frames (the last good one was reused)")
    return summary


class DemoRun:
    """The demo's per-frame state: pipeline, placement, intrinsics, colour range, FPS."""

    def __init__(self, options: DemoOptions, estimator, mesh, sparse, smoother, sparse_hw=None):
        self.options, self.estimator, self.mesh = options, estimator, mesh
        # Sparse points are in input-frame pixels; the pipeline sees processing-size frames (_setup).
        self.sparse, self.sparse_hw = sparse, sparse_hw
        self.pipeline = ScenePipeline(estimator, None, None, smoother)
        self.semantics = estimator.manifest.output.semantics
        self.center: Optional[np.ndarray] = None
        self.size: Optional[float] = None
        self.k = None
        self.vrange: Optional[tuple[float, float]] = None
        self.fps = 0.0
        self.frames: list[dict] = []
        self._cached = None

    def _setup(self, frame: np.ndarray, pick: bool) -> None:
        a = self.options
        in_h, in_w = frame.shape[:2]
        self.proc_w, self.proc_h = _processing_size(in_w, in_h, a.max_width)
        sx, sy = self.proc_w / in_w, self.proc_h / in_h
        if a.intrinsics is not None:
            self.k = Intrinsics.from_centered_pixels(*a.intrinsics).scaled(sx, sy)
        else:
            self.k = Intrinsics.from_hfov(self.proc_w, self.proc_h, a.hfov or DEFAULT_HFOV_DEG)
        self._scale_sparse(in_h, in_w, sx, sy)
        if pick:
            ax, ay = pick_pixel(frame)
        elif a.anchor_pixel is not None:
            ax, ay = a.anchor_pixel
        else:
            ax, ay = in_w // 2, in_h // 2
        if not (0 <= ax < in_w and 0 <= ay < in_h):
            raise UsageError(f"--anchor-pixel: ({ax}, {ay}) lies outside the {in_w}x{in_h} input frames")
        # The anchor in processing-frame pixels.
        self.anchor_xy = ((ax + 0.5) * sx - 0.5, (ay + 0.5) * sy - 0.5)
        self.anchor_input_xy = (ax, ay)
        relative = self.semantics != "metric"
        if a.distance is not None:
            self.anchor_depth = a.distance
        elif relative:
            self.anchor_depth = NOMINAL_ANCHOR_DEPTH
            print(f"note: {self.semantics} model: the anchor pixel is taken to be {NOMINAL_ANCHOR_DEPTH} m away "
                  "(give --distance for a known distance)", file=sys.stderr)
        else:
            self.anchor_depth = None  # picked from the first frame's metric depth
        if relative:
            self.pipeline.anchor = MetricPoint(*self.anchor_xy, self.anchor_depth)

    def _scale_sparse(self, in_h: int, in_w: int, sx: float, sy: float) -> None:
        if self.sparse is None:
            return
        flag = "--gt-depth" if self.sparse_hw is not None else "--sparse-points"
        if self.sparse_hw is not None and tuple(self.sparse_hw) != (in_h, in_w):
            raise UsageError(f"--gt-depth: the depth maps are {self.sparse_hw[1]}x{self.sparse_hw[0]}, the input frames {in_w}x{in_h}")
        for pts in self.sparse.values():
            for p in pts:
                if not (-0.5 <= p.x < in_w - 0.5 and -0.5 <= p.y < in_h - 0.5):
                    raise UsageError(f"{flag}: the point ({p.x:g}, {p.y:g}) lies outside the {in_w}x{in_h} input frames")
        self.pipeline.sparse_points = {k: [p.scaled(sx, sy) for p in v] for k, v in self.sparse.items()}

    def _place(self, scene_depth: np.ndarray) -> None:
        z = self.anchor_depth
        if z is None:
            z = sample(scene_depth, *self.anchor_xy, radius=3)
            if z is None:
                raise UsageError(f"--anchor-pixel: no valid depth at {self.anchor_input_xy} on the first frame")
        self.anchor_depth = z
        self.center = self.k.backproject(self.anchor_xy[0], self.anchor_xy[1], z)
        self.size = self.options.size or DEFAULT_SIZE_FRACTION * z
        if self.center[2] - self.size * 0.87 <= 0.01:  # half the cube's diagonal
            raise UsageError(f"the object (size {self.size:.3g} m) reaches behind the camera at {z:.3g} m; give a smaller --size")

    def render(self, i: int):
        yaw = self.options.yaw + self.options.spin * i
        if self._cached is not None and self.options.spin == 0:
            return self._cached
        placed = self.mesh.transformed(rotation=rotation_y(yaw), translation=self.center, scale=self.size)
        self._cached = render_mesh(placed, self.k, self.proc_w, self.proc_h)
        return self._cached

    def step(self, frame: np.ndarray, i: int, pick: bool = False) -> np.ndarray:
        import cv2

        t0 = time.perf_counter()
        if self.k is None:
            self._setup(frame, pick)
        if frame.shape[1] != self.proc_w or frame.shape[0] != self.proc_h:
            frame = cv2.resize(frame, (self.proc_w, self.proc_h), interpolation=cv2.INTER_AREA)
        sf = self.pipeline.process(frame, i)
        scene = cv2.resize(sf.depth, (self.proc_w, self.proc_h), interpolation=cv2.INTER_LINEAR)
        if self.center is None:
            self._place(scene)
        obj = self.render(i)
        comp, visible = composite(frame, scene, obj)
        shown = np.where(visible, obj.depth, scene)
        if self.vrange is None:
            self.vrange = depth_range(scene)
        depth_rgb = colorize(shown, *self.vrange)
        dt = time.perf_counter() - t0
        self.fps = 1.0 / dt if self.fps == 0 else 0.9 * self.fps + 0.1 / dt
        draw_label(comp, f"{self.fps:.1f} fps", (8, 20))
        units = "m" if self.semantics == "metric" else "aligned m"
        draw_label(depth_rgb, f"depth {self.vrange[0]:.2g}-{self.vrange[1]:.2g} {units}", (8, 20))
        obj_px = int(obj.mask.sum())
        self.frames.append({"frame": i, "scale": sf.alignment.scale, "shift": sf.alignment.shift, "aligned": sf.aligned,
                            "object_pixels": obj_px, "visible_pixels": int(visible.sum()), "seconds": dt})
        return np.concatenate([comp, depth_rgb], axis=1)

    def summary(self, seconds: float, pngs: list[str]) -> dict:
        a = self.options
        vis = [f["visible_pixels"] / max(f["object_pixels"], 1) for f in self.frames]
        return {
            "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(a).items()},
            "model": str(self.estimator.model_path), "semantics": self.semantics,
            "processing_size": [self.proc_w, self.proc_h],
            "intrinsics": [self.k.fx, self.k.fy, self.k.cx, self.k.cy],
            "object_center_m": [float(c) for c in self.center], "object_size_m": self.size,
            "frames": len(self.frames), "seconds": seconds, "fps_overall": len(self.frames) / seconds,
            "mean_visible_fraction": float(np.mean(vis)) if vis else None,
            "alignment_fit_failures": self.pipeline.fit_failures, "pngs": pngs,
            "per_frame": self.frames,
        }
