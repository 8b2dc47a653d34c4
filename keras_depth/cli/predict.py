"""``keras-depth predict [--model NAME|M.tflite|M.keras] INPUT... --out DIR``: depth maps of your own images,
folders, globs, videos or a camera, written at each input's resolution."""
from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path
from typing import Iterator, Optional

from keras_depth.cli.common import csv_of, positive

SAVE_HELP = ("png (colourised, with a colour bar and its range), png16 (16-bit PNG, millimetres), npy (float32, "
             "metres; NaN where not predicted), pfm, ply (coloured point cloud), side (image | depth)")


def _floats4(text: str) -> list[float]:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--intrinsics expects fx,fy,cx,cy in pixels, got {text!r}") from None
    if len(values) != 4 or not all(v == v and abs(v) != float("inf") for v in values) or values[0] <= 0 or values[1] <= 0:
        raise argparse.ArgumentTypeError(f"--intrinsics expects four finite numbers fx,fy,cx,cy with fx, fy > 0, got {text!r}")
    return values


def _save_formats(text: str) -> list[str]:
    from keras_depth.inference.result import SAVE_FORMATS

    items = csv_of(str, "--save")(text)
    bad = [f for f in items if f not in SAVE_FORMATS]
    if bad:
        raise argparse.ArgumentTypeError(f"--save: unknown format {bad[0]!r} (expected some of {','.join(SAVE_FORMATS)})")
    return items


def _fov(text: str) -> float:
    v = positive(float, "--fov")(text)
    if not v < 180:
        raise argparse.ArgumentTypeError(f"--fov expects degrees in (0, 180), got {text!r}")
    return v


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="images, folders of images, globs ('photos/*.jpg'), videos, or a camera index (0)")
    parser.add_argument("--model", metavar="MODEL",
                        help="a shipped model's name (keras-depth models --pretrained; NAME:float32, NAME:keras), a "
                        ".tflite (its manifest embedded or beside it) or a .keras with model_meta.json beside it "
                        "(default: the model that ships with the package)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    parser.add_argument("--save", type=_save_formats, metavar="LIST", default=None,
                        help=f"comma-separated outputs per input: {SAVE_HELP}. Default png,npy,png16,ply, less png16 and ply "
                        "for a relative model without --align-*, less ply without a camera (--fov, --intrinsics)")
    parser.add_argument("--side-by-side", action="store_true", help="also write image | depth in one PNG (same as adding side)")
    parser.add_argument("--fit", choices=("crop", "pad"), default="crop",
                        help="bring each frame to the model's aspect by a centred crop (default; the rest is "
                        "not predicted: NaN / 0 / black there) or by mirrored padding (every pixel predicted)")
    camera = parser.add_mutually_exclusive_group()
    camera.add_argument("--fov", type=_fov, metavar="DEG", help="horizontal field of view of the camera, for ply")
    camera.add_argument("--intrinsics", type=_floats4, metavar="FX,FY,CX,CY",
                        help="pinhole intrinsics in the input's pixels (OpenCV convention), for ply")
    align = parser.add_mutually_exclusive_group()
    align.add_argument("--align-median", type=positive(float, "--align-median"), metavar="METRES",
                       help="metric scale from one known distance: each image's predicted median depth becomes METRES "
                       "(a relative model becomes metric; a metric one is rescaled)")
    align.add_argument("--align-points", metavar="FILE",
                       help="metric scale by a robust fit to sparse points (a relative model becomes metric; a metric one is "
                       "rescaled): a CSV of x,y,depth_m rows in the input's pixels (applied to every input)")
    parser.add_argument("--stabilise", action="store_true",
                        help="videos and cameras: smooth the depth over time where the image is static (the demo's "
                        "temporal stabiliser), against frame-to-frame flicker")
    parser.add_argument("--max-frames", type=positive(int, "--max-frames"), default=None, metavar="N",
                        help="at most N frames per video (a camera: default 100)")
    parser.add_argument("--threads", type=positive(int, "--threads"), default=2, metavar="N",
                        help="inference threads for TFLite models (default 2)")
    parser.add_argument("--strict", action="store_true", help="fail on the first unreadable input instead of skipping it")


def run(args: argparse.Namespace) -> int:
    from keras_depth.errors import DataError, UsageError
    from keras_depth.pretrained import resolve_model

    model_path = resolve_model(args.model)  # a model that isn't there fails before --out is made
    out = _output_dir(args.out)
    points = _read_points(args.align_points) if args.align_points else None
    items = list(_expand(args.inputs))  # (label, path or camera index, kind); a missing input is an error now
    import keras_depth as kd

    model = kd.load(model_path, num_threads=args.threads)
    aligned = args.align_median is not None or points is not None
    camera = args.fov is not None or args.intrinsics is not None or model.fov_deg is not None
    formats = _formats(args, model.semantics, aligned, camera)
    stems: set[str] = set()
    done = frames = 0
    skips: list[str] = []
    start = time.perf_counter()
    for label, target, kind in items:
        movie = _DepthMovie(out, target, kind, args.stabilise) if kind != "image" else None
        try:
            for stem, rgb in _frames(label, target, kind, args.max_frames):
                stem = _unique(stem, stems)
                result = model.predict(rgb, fit=args.fit)
                if args.align_median is not None:
                    result = result.align_median(args.align_median)
                elif points is not None:
                    result = result.align_points(points)
                if movie is not None:
                    result = movie.add(result)
                result.save(out, stem, formats, fov_deg=args.fov, intrinsics=args.intrinsics)
                frames += 1
                _progress(frames, start)
            if movie is not None:
                movie.close()
            done += 1
        except DataError as e:
            if args.strict:
                raise
            skips.append(f"{label}: {e}" if str(target) not in str(e) else str(e))
    if sys.stderr.isatty():
        print(file=sys.stderr)
    seconds = time.perf_counter() - start
    skipped = len(skips)
    if frames == 0:
        raise UsageError(f"predict: nothing could be read ({skips[0]}{f'; and {skipped - 1} more' if skipped > 1 else ''})")
    for line in skips:
        print(f"warning: skipped {line}", file=sys.stderr)
    if skips:
        print(f"skipped {skipped} unreadable input(s), each named above; --strict fails on the first instead", file=sys.stderr)
    what = "metric, metres" if model.semantics == "metric" or aligned else f"{model.semantics}, no metric scale"
    print(f"predicted {frames} image(s) from {done} input(s) in {seconds:.1f} s ({frames / seconds:.1f} images/s); "
          f"{what}; fit {args.fit}; wrote {','.join(formats)} to {out}"
          + (f"; skipped {skipped} unreadable input(s) (--strict fails instead)" if skipped else ""))
    return 0


def _output_dir(text: str) -> Path:
    """The output folder, made now: one that can't be made is a usage error before any work."""
    from keras_depth.errors import UsageError

    out = Path(text)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out: cannot create {out} ({e.strerror or e})") from None
    return out


def _formats(args: argparse.Namespace, semantics: str, aligned: bool, camera: bool) -> list[str]:
    """The outputs to write: ``--save``, else every one the model and the camera allow (metres need a
    metric or aligned model; a point cloud also needs a camera: --fov, --intrinsics or the model's own)."""
    from keras_depth.errors import UsageError
    from keras_depth.inference.result import default_formats

    metric = semantics == "metric" or aligned
    if args.save is None:
        formats = default_formats(metric, camera)
    else:
        formats = list(dict.fromkeys(args.save))
    if args.side_by_side and "side" not in formats:
        formats.append("side")
    needs_metres = [f for f in formats if f in ("png16", "ply")]
    if needs_metres and not metric:
        raise UsageError(f"--save {','.join(needs_metres)}: the model is {semantics} (no metres); give --align-median "
                         "or --align-points, or save png,npy,pfm")
    return formats


def _read_points(path: str):
    import numpy as np

    from keras_depth.errors import DataError

    try:
        pts = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    except OSError as e:
        raise DataError(f"--align-points: cannot read {path} ({e.strerror or e})") from None
    except ValueError as e:
        raise DataError(f"--align-points: {path}: expected rows x,y,depth_m ({str(e).splitlines()[0]})") from None
    if pts.shape[1] != 3 or not np.isfinite(pts).all():
        raise DataError(f"--align-points: {path}: expected finite rows x,y,depth_m, got shape {pts.shape}")
    return pts


def _expand(inputs: list[str]) -> Iterator[tuple[str, object, str]]:
    from keras_depth.ar.video import IMAGE_EXTS, VIDEO_EXTS, natural_key
    from keras_depth.errors import UsageError

    for spec in inputs:
        if spec.isdigit():
            yield f"camera {spec}", int(spec), "camera"
            continue
        p = Path(spec)
        if p.is_dir():
            files = sorted((f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTS + VIDEO_EXTS),
                           key=lambda f: natural_key(f.name))
            if not files:
                raise UsageError(f"{spec}: folder holds no images or videos ({', '.join(IMAGE_EXTS + VIDEO_EXTS)})")
            for f in files:
                yield str(f), f, _kind(f)
        elif p.is_file():
            yield spec, p, _kind(p)
        elif glob.has_magic(spec):
            matches = sorted(glob.glob(spec, recursive=True), key=natural_key)
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                raise UsageError(f"{spec}: the pattern matches no file")
            for f in files:
                yield str(f), f, _kind(f)
        else:
            raise UsageError(f"input not found: {spec}")


def _kind(path: Path) -> str:
    from keras_depth.ar.video import VIDEO_EXTS

    return "video" if path.suffix.lower() in VIDEO_EXTS else "image"


def _stem(target, kind: str) -> str:
    """The output files' stem of an input: its file name's, or ``camera<N>``."""
    return f"camera{target}" if kind == "camera" else Path(target).stem


def _frames(label: str, target, kind: str, max_frames: Optional[int]) -> Iterator[tuple[str, "object"]]:
    """(output stem, uint8 RGB) of one input; a DataError when it can't be read."""
    from keras_depth.errors import DataError

    if kind == "image":
        from keras_depth.imagefiles import read_rgb

        yield _stem(target, kind), read_rgb(target)
        return
    import cv2

    cap = cv2.VideoCapture(target if kind == "camera" else str(target))
    if not cap.isOpened():
        raise DataError(f"cannot open {label}")
    limit = max_frames or (100 if kind == "camera" else None)
    stem = _stem(target, kind)
    n = 0
    try:
        while limit is None or n < limit:
            ok, bgr = cap.read()
            if not ok:
                break
            yield f"{stem}_{n:06d}", bgr[..., ::-1].copy()
            n += 1
    finally:
        cap.release()
    if n == 0:
        raise DataError(f"{label}: no frame could be read")


class _DepthMovie:
    """A video's or camera's depth: optionally stabilised over time (``ar.temporal.TemporalSmoother`` on
    disparity, where the image is static), and written as ``<stem>_depth.mp4`` (image | depth, one
    colour range for the whole clip, taken from its first frame, so colours don't flicker either)."""

    def __init__(self, out: Path, target, kind: str, stabilise: bool):
        from keras_depth.ar.temporal import TemporalSmoother

        self.path = out / f"{_stem(target, kind)}_depth.mp4"
        self.smoother = TemporalSmoother() if stabilise else None
        self.writer = None
        self.range: Optional[tuple[float, float]] = None

    def add(self, result):
        import dataclasses

        import numpy as np

        from keras_depth.ar.temporal import to_gray
        from keras_depth.ar.video import Mp4Writer

        if self.smoother is not None:
            disparity_out = result.semantics == "affine_disparity"
            with np.errstate(divide="ignore", invalid="ignore"):
                d = np.where(result.valid, result.values if disparity_out else 1.0 / result.values, np.nan)
                d = self.smoother.smooth_disparity(d.astype(np.float32), to_gray(result.image))
                values = d if disparity_out else 1.0 / d
            result = dataclasses.replace(result, values=values.astype(np.float32), valid=result.valid & np.isfinite(values))
        v = result.values[result.valid]
        if result.semantics == "affine_disparity":  # colorize shows its inverse: the range is of that
            v = 1.0 / v[v > 0]
        if self.range is None and v.size:
            self.range = (float(np.percentile(v, 2)), float(np.percentile(v, 98)))
        view = np.concatenate([result.image, result.colorize(*(self.range or (None, None)))], axis=1)
        if self.writer is None:
            self.writer = Mp4Writer(self.path, 10.0, (view.shape[1], view.shape[0]))
        self.writer.write(view)
        return result

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _unique(stem: str, used: set[str]) -> str:
    name, k = stem, 1
    while name in used:
        k += 1
        name = f"{stem}_{k}"
    used.add(name)
    return name


def _progress(frames: int, start: float) -> None:
    if sys.stderr.isatty():
        rate = frames / max(time.perf_counter() - start, 1e-9)
        print(f"\r{frames} image(s), {rate:.1f} images/s", end="", file=sys.stderr, flush=True)
