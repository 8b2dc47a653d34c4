"""``keras-depth demo``: a virtual object in the camera image, hidden behind real surfaces.

    keras-depth demo --model runs/quickstart/model_int8_qat.tflite \\
        --input ../shared/data/video/bedroom_frames --out runs/ar_demo/bedroom.mp4 --png-every 40

Per frame: the exported model (ai-edge-litert, driven by its manifest) predicts depth; relative
depth is aligned to the anchor (and sparse metric points); the object is rasterised and shown only
where it is nearer than the scene. The output is side by side: composited | colour-mapped depth
(with the visible object's depth drawn in), with an FPS overlay. A JSON beside the mp4 records the
options and per-frame statistics.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

from keras_depth.errors import UsageError

DEFAULT_MAX_WIDTH = 640
DEFAULT_SIZE_FRACTION = 0.2  # object edge, as a fraction of its distance, unless --size is given
DEFAULT_YAW_DEG = 30.0  # as FrameComposer.cubeAhead: three faces show


def _pair(kind: type, n: int, name: str):
    def parse(text: str):
        parts = text.replace(" ", "").split(",")
        try:
            vals = [kind(p) for p in parts]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {n} comma-separated {kind.__name__}s for {name}, got {text!r}") from None
        if len(vals) != n:
            raise argparse.ArgumentTypeError(f"expected {n} comma-separated values for {name}, got {text!r}")
        return tuple(vals)

    return parse


def _positive(kind: type):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not v > 0 or (kind is float and not math.isfinite(v)):
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return v

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="an exported .tflite with its manifest (.json) beside it")
    parser.add_argument("--input", required=True, help="a video file, a folder of images, or a camera index (0, 1, ...)")
    parser.add_argument("--out", required=True, help="the side-by-side .mp4 to write (atomically)")
    parser.add_argument("--object", default="cube", help="'cube' (shaded) or PATH.obj (textured via its .mtl map_Kd)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--anchor-pixel", type=_pair(int, 2, "--anchor-pixel"), metavar="X,Y",
                       help="put the object at the scene depth at this pixel of the input frames (picked on the first frame)")
    where.add_argument("--distance", type=_positive(float), metavar="METERS",
                       help="put the object this far away on the ray through the image centre; "
                            "relative models are aligned each frame so that pixel is that far")
    parser.add_argument("--pick", action="store_true", help="click the anchor pixel on the first frame (needs a display)")
    parser.add_argument("--size", type=_positive(float), metavar="METERS",
                        help=f"object edge (default {DEFAULT_SIZE_FRACTION} x its distance)")
    parser.add_argument("--yaw", type=float, default=DEFAULT_YAW_DEG, help="object yaw in degrees (default %(default)s)")
    parser.add_argument("--spin", type=float, default=0.0, help="added yaw per frame in degrees (default 0)")
    parser.add_argument("--hfov", type=_positive(float), default=None,
                        help="horizontal field of view of the input frames, degrees (default 65, as depth-core)")
    parser.add_argument("--intrinsics", type=_pair(float, 4, "--intrinsics"), metavar="FX,FY,CX,CY",
                        help="camera intrinsics of the input frames in pixels (pixel centres at integers)")
    parser.add_argument("--sparse-points", metavar="FILE", help="metric points to align to: lines 'x y depth' or 'frame x y depth'")
    parser.add_argument("--stabilize", action="store_true", help="EMA of the alignment and of disparity in static regions")
    parser.add_argument("--alpha", type=_positive(float), default=None, help="EMA weight of the new frame (default 0.3)")
    parser.add_argument("--max-frames", type=_positive(int), metavar="N", help="stop after N frames")
    parser.add_argument("--png-every", type=int, default=0, metavar="N", help="also save every Nth output frame as PNG beside the mp4")
    parser.add_argument("--max-width", type=_positive(int), default=DEFAULT_MAX_WIDTH,
                        help="frames wider than this are scaled down first (default %(default)s)")
    parser.add_argument("--threads", type=_positive(int), default=2, help="interpreter threads (default 2)")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")


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
    from keras_depth.ar.obj import load_obj
    from keras_depth.ar.render import cube_mesh, rotation_x

    if spec == "cube":
        return cube_mesh(1.0)
    if not spec.lower().endswith(".obj"):
        raise UsageError(f"--object: expected 'cube' or a path ending in .obj, got {spec!r}")
    # OBJ is y-up and faces +z towards an OpenGL camera looking down -z; ours is y-down, looking down +z.
    return load_obj(spec).transformed(rotation=rotation_x(180.0)).normalized(1.0)


def run(args: argparse.Namespace) -> int:
    from keras_depth.ar.placement import load_sparse_points
    from keras_depth.ar.temporal import DEFAULT_ALPHA, TemporalSmoother
    from keras_depth.ar.video import Mp4Writer, open_source, write_png

    out = Path(args.out)
    if out.suffix.lower() != ".mp4":
        raise UsageError(f"--out: expected a path ending in .mp4, got {args.out!r}")
    if args.png_every < 0:
        raise UsageError(f"--png-every: expected N >= 0, got {args.png_every}")
    if args.hfov is not None and args.intrinsics is not None:
        raise UsageError("--hfov and --intrinsics are alternatives; give one")
    if args.hfov is not None and not args.hfov < 180:
        raise UsageError(f"--hfov: expected degrees in (0, 180), got {args.hfov}")
    if not Path(args.model).is_file():
        raise UsageError(f"--model: {args.model} not found")
    mesh = load_object(args.object)
    sparse = load_sparse_points(args.sparse_points) if args.sparse_points else None
    source = open_source(args.input)

    from export.runtime import TFLiteDepthEstimator

    est = TFLiteDepthEstimator(args.model, num_threads=args.threads)
    smoother = TemporalSmoother(args.alpha or DEFAULT_ALPHA) if args.stabilize else None
    stats = DemoRun(args, est, mesh, sparse, smoother)
    total = source.count if args.max_frames is None else min(source.count or args.max_frames, args.max_frames)
    progress = Progress(total, enabled=not args.no_progress)
    writer = None
    pngs: list[str] = []
    t_start = time.perf_counter()
    try:
        with source:
            for i, frame in enumerate(source):
                if args.max_frames is not None and i >= args.max_frames:
                    break
                panel = stats.step(frame, i, pick=args.pick and i == 0)
                if writer is None:
                    writer = Mp4Writer(out, source.fps, (panel.shape[1], panel.shape[0]))
                writer.write(panel)
                if args.png_every and i % args.png_every == 0:
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
    from keras_depth.io import atomic_write_text

    atomic_write_text(out.with_suffix(".json"), json.dumps(summary, indent=2, sort_keys=True, default=str))
    print(f"wrote {out} ({writer.frames} frames, {writer.size[0]}x{writer.size[1]}, {writer.frames / seconds:.1f} fps overall)")
    for p in pngs:
        print(f"png: {p}")
    if stats.pipeline.fit_failures:
        print(f"note: the alignment fit failed on {stats.pipeline.fit_failures} frames (the last good one was reused)")
    return 0


class DemoRun:
    """The demo's per-frame state: pipeline, placement, intrinsics, colour range, FPS."""

    def __init__(self, args: argparse.Namespace, estimator, mesh, sparse, smoother):
        from keras_depth.ar.pipeline import ScenePipeline

        self.args, self.estimator, self.mesh = args, estimator, mesh
        self.pipeline = ScenePipeline(estimator, None, sparse, smoother)
        self.semantics = estimator.manifest.output.semantics
        self.center: Optional[np.ndarray] = None
        self.size: Optional[float] = None
        self.k = None
        self.vrange: Optional[tuple[float, float]] = None
        self.fps = 0.0
        self.frames: list[dict] = []
        self._cached = None

    def _setup(self, frame: np.ndarray, pick: bool) -> None:
        from keras_depth.ar.placement import NOMINAL_ANCHOR_DEPTH, MetricPoint
        from keras_depth.ar.render import Intrinsics

        a = self.args
        in_h, in_w = frame.shape[:2]
        self.proc_w, self.proc_h = _processing_size(in_w, in_h, a.max_width)
        sx, sy = self.proc_w / in_w, self.proc_h / in_h
        if a.intrinsics is not None:
            self.k = Intrinsics.from_centered_pixels(*a.intrinsics).scaled(sx, sy)
        else:
            self.k = Intrinsics.from_hfov(self.proc_w, self.proc_h, a.hfov or 65.0)
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

    def _place(self, scene_depth: np.ndarray) -> None:
        from keras_depth.ar.placement import sample

        z = self.anchor_depth
        if z is None:
            z = sample(scene_depth, *self.anchor_xy, radius=3)
            if z is None:
                raise UsageError(f"--anchor-pixel: no valid depth at {self.anchor_input_xy} on the first frame")
        self.anchor_depth = z
        self.center = self.k.backproject(self.anchor_xy[0], self.anchor_xy[1], z)
        self.size = self.args.size or DEFAULT_SIZE_FRACTION * z
        if self.center[2] - self.size * 0.87 <= 0.01:  # half the cube's diagonal
            raise UsageError(f"the object (size {self.size:.3g} m) reaches behind the camera at {z:.3g} m; give a smaller --size")

    def render(self, i: int):
        from keras_depth.ar.render import render_mesh, rotation_y

        yaw = self.args.yaw + self.args.spin * i
        if self._cached is not None and self.args.spin == 0:
            return self._cached
        placed = self.mesh.transformed(rotation=rotation_y(yaw), translation=self.center, scale=self.size)
        self._cached = render_mesh(placed, self.k, self.proc_w, self.proc_h)
        return self._cached

    def step(self, frame: np.ndarray, i: int, pick: bool = False) -> np.ndarray:
        import cv2

        from keras_depth.ar.composite import composite
        from keras_depth.visualize import colorize

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
        a = self.args
        vis = [f["visible_pixels"] / max(f["object_pixels"], 1) for f in self.frames]
        return {
            "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(a).items() if k != "func"},
            "model": str(self.estimator.model_path), "semantics": self.semantics,
            "processing_size": [self.proc_w, self.proc_h],
            "intrinsics": [self.k.fx, self.k.fy, self.k.cx, self.k.cy],
            "object_center_m": [float(c) for c in self.center], "object_size_m": self.size,
            "frames": len(self.frames), "seconds": seconds, "fps_overall": len(self.frames) / seconds,
            "mean_visible_fraction": float(np.mean(vis)) if vis else None,
            "alignment_fit_failures": self.pipeline.fit_failures, "pngs": pngs,
            "per_frame": self.frames,
        }
