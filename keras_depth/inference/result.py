"""What a prediction returns: a depth map at the input image's resolution, what it means, where it is
valid, and the ways to write it out (colourised PNG with a legend, 16-bit PNG in millimetres, ``.npy``
metres, PFM, a coloured point cloud)."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from keras_depth.errors import UsageError
from keras_depth.io import atomic_write_bytes

SAVE_FORMATS = ("png", "png16", "npy", "pfm", "ply", "side")


def default_formats(metric: bool, camera: bool) -> list[str]:
    """Every output a result allows: png and npy always, png16 with metres, ply with metres and a camera."""
    return ["png", "npy"] + (["png16"] if metric else []) + (["ply"] if metric and camera else [])


@dataclasses.dataclass
class DepthResult:
    """``values``: float32 [H, W] at the input's resolution: metres when ``semantics`` is ``metric``,
    else relative depth (``relative``: right up to one scale) or relative disparity
    (``affine_disparity``: right up to a scale and a shift). ``valid``: bool [H, W], the pixels the
    model predicted (False where ``--fit pad`` added borders or a crop left them out; NaN there).
    ``image``: the uint8 RGB input, for colours. ``fov_deg``: the horizontal field of view the model
    assumes when no camera is given, if its card says one."""

    values: np.ndarray
    valid: np.ndarray
    semantics: str
    image: Optional[np.ndarray] = None
    fov_deg: Optional[float] = None
    source: str = ""

    @property
    def is_metric(self) -> bool:
        return self.semantics == "metric"

    @property
    def metres(self) -> np.ndarray:
        """Depth in metres (NaN where not valid); a relative model's output has no metres: align it first."""
        if not self.is_metric:
            raise UsageError(f"{self.source or 'prediction'}: a {self.semantics} model predicts no metres; "
                             "align it first (DepthResult.align_median / align_points, or predict --align-*)")
        return self.values

    def align_median(self, median_depth: float) -> "DepthResult":
        """Metric by one scale: the valid pixels' median depth becomes ``median_depth`` metres (relative
        depth only: a disparity up to shift needs points, ``align_points``)."""
        if not (math.isfinite(median_depth) and median_depth > 0):
            raise UsageError(f"align median: expected a positive depth in metres, got {median_depth!r}")
        if self.semantics == "affine_disparity":
            raise UsageError(f"{self.source or 'prediction'}: an affine-disparity model needs a scale and a shift: "
                             "give points (--align-points), not a median")
        med = float(np.nanmedian(self.values[self.valid])) if self.valid.any() else float("nan")
        if not (math.isfinite(med) and med > 0):
            raise UsageError(f"{self.source or 'prediction'}: no positive depth to align")
        return dataclasses.replace(self, values=(self.values * (median_depth / med)).astype(np.float32), semantics="metric")

    def align_points(self, points: np.ndarray) -> "DepthResult":
        """Metric by the robust fit to sparse points, rows ``(x, y, depth_m)`` in this map's pixels
        (``keras_depth.alignment.align_to_points``)."""
        from keras_depth.alignment import align_to_points

        filled = np.where(self.valid, self.values, np.nan)
        fit = align_to_points(filled, points, self.semantics)
        metric = fit.apply(self.values)
        return dataclasses.replace(self, values=metric, valid=self.valid & np.isfinite(metric) & (metric > 0),
                                   semantics="metric")

    def colorize(self, vmin: Optional[float] = None, vmax: Optional[float] = None) -> np.ndarray:
        """uint8 RGB [H, W, 3], near warm (inverse depth, turbo); black where not valid."""
        from keras_depth.visualize import colorize

        if self.semantics == "affine_disparity":  # larger = nearer: colour its inverse as depth
            with np.errstate(divide="ignore", invalid="ignore"):
                d = np.where(self.values > 0, 1.0 / self.values, np.nan)
            return colorize(d, vmin, vmax, mask=self.valid)
        return colorize(self.values, vmin, vmax, mask=self.valid)

    def legend(self) -> str:
        """The range under the colour bar: metres for a metric model, the word 'relative' otherwise."""
        v = self.values[self.valid & np.isfinite(self.values)]
        if not v.size:
            return "no valid pixel"
        lo, hi = float(v.min()), float(v.max())
        if self.is_metric:
            return f"depth {lo:.2f} m (warm) .. {hi:.2f} m (cold)"
        what = "disparity" if self.semantics == "affine_disparity" else "depth"
        return f"relative {what}, no metric scale: near (warm) .. far (cold)"

    def to_points(self, fov_deg: Optional[float] = None,
                  intrinsics: Optional[Sequence[float]] = None) -> tuple[np.ndarray, np.ndarray]:
        """``(xyz [N, 3] metres, rgb uint8 [N, 3])`` of the valid pixels, back-projected through a pinhole
        camera: ``intrinsics`` (fx, fy, cx, cy in this image's pixels, pixel centres at integers as
        OpenCV calibrations have them), else a horizontal ``fov_deg`` (else the model's own
        assumption) with the principal point at the centre."""
        from keras_depth.geometry import Intrinsics

        depth = self.metres
        h, w = depth.shape
        if intrinsics is not None:
            camera = Intrinsics.from_centered_pixels(*(float(v) for v in intrinsics))
        else:
            fov = fov_deg if fov_deg is not None else self.fov_deg
            if fov is None:
                raise UsageError(f"{self.source or 'prediction'}: a point cloud needs a camera: give --fov DEG or "
                                 "--intrinsics fx,fy,cx,cy (the model names no field of view)")
            camera = Intrinsics.from_hfov(w, h, fov)
        ys, xs = np.nonzero(self.valid & np.isfinite(depth) & (depth > 0))
        z = depth[ys, xs].astype(np.float64)
        xyz = camera.backproject(xs, ys, z).T
        rgb = self.image[ys, xs] if self.image is not None else np.full((len(z), 3), 200, np.uint8)
        return xyz.astype(np.float32), rgb.astype(np.uint8)

    def save(self, out_dir: str | Path, stem: str = "depth", formats: Optional[Sequence[str]] = None,
             fov_deg: Optional[float] = None, intrinsics: Optional[Sequence[float]] = None) -> list[Path]:
        """Write ``formats`` (``SAVE_FORMATS``) as ``out_dir/<stem>.<ext>``, each atomically; returns the
        paths. ``png16`` and ``ply`` hold metres, so a relative model refuses them until aligned (its
        ``npy``/``pfm`` hold its relative values). Default: png and npy, plus png16 for metres and ply
        when there is also a camera (``fov_deg``, ``intrinsics`` or the model's own field of view)."""
        if formats is None:
            formats = default_formats(self.is_metric, fov_deg is not None or intrinsics is not None or self.fov_deg is not None)
        bad = sorted(set(formats) - set(SAVE_FORMATS))
        if bad:
            raise UsageError(f"save: unknown format(s) {bad} (expected some of {', '.join(SAVE_FORMATS)})")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for fmt in formats:
            path = out / f"{stem}{_SUFFIX[fmt]}"
            _WRITERS[fmt](self, path, fov_deg, intrinsics)
            written.append(path)
        return written


def _encode_png(rgb_or_gray: np.ndarray) -> bytes:
    import cv2

    img = rgb_or_gray[..., ::-1] if rgb_or_gray.ndim == 3 else rgb_or_gray
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def with_colour_bar(r: DepthResult, view: np.ndarray) -> np.ndarray:
    """``view`` with a colour bar strip and the legend text under it."""
    import cv2

    from keras_depth.visualize import colorize

    h, w = view.shape[:2]
    bar_h, text_h = max(8, h // 40), max(18, h // 22)
    ramp = np.tile(np.linspace(1.0, 8.0, w)[None], (bar_h, 1))  # near -> far, coloured as the view is
    bar = colorize(ramp, 1.0, 8.0)
    text = np.full((text_h, w, 3), 255, np.uint8)
    scale = max(0.35, text_h / 40)
    cv2.putText(text, r.legend(), (4, int(text_h * 0.75)), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([view, bar, text], axis=0)


def _write_png(r: DepthResult, path: Path, *_) -> None:
    atomic_write_bytes(path, _encode_png(with_colour_bar(r, r.colorize())))


def write_side_by_side(r: DepthResult, path: Path, *_) -> None:
    """image | depth in one PNG, with the colour bar and legend under them."""
    if r.image is None:
        raise UsageError("side-by-side: the prediction has no input image")
    atomic_write_bytes(path, _encode_png(with_colour_bar(r, np.concatenate([r.image, r.colorize()], axis=1))))


def _write_png16(r: DepthResult, path: Path, *_) -> None:
    mm = np.where(r.valid & np.isfinite(r.metres), np.round(r.metres * 1000.0), 0)
    atomic_write_bytes(path, _encode_png(np.clip(mm, 0, 65535).astype(np.uint16)))


def _write_npy(r: DepthResult, path: Path, *_) -> None:
    import io

    buf = io.BytesIO()
    np.save(buf, np.where(r.valid, r.values, np.nan).astype(np.float32))
    atomic_write_bytes(path, buf.getvalue())


def _write_pfm(r: DepthResult, path: Path, *_) -> None:
    from keras_depth.imagefiles import write_pfm

    write_pfm(path, np.where(r.valid, r.values, np.inf).astype(np.float32))


def _write_ply(r: DepthResult, path: Path, fov_deg, intrinsics) -> None:
    xyz, rgb = r.to_points(fov_deg, intrinsics)
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(xyz)}\nproperty float x\nproperty float y\nproperty float z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n").encode()
    rows = np.empty(len(xyz), dtype=[("xyz", "<f4", 3), ("rgb", "u1", 3)])
    rows["xyz"], rows["rgb"] = xyz, rgb
    atomic_write_bytes(path, header + rows.tobytes())


_SUFFIX = {"png": ".png", "png16": "_mm.png", "npy": ".npy", "pfm": ".pfm", "ply": ".ply", "side": "_side.png"}
_WRITERS = {"png": _write_png, "png16": _write_png16, "npy": _write_npy, "pfm": _write_pfm, "ply": _write_ply,
            "side": write_side_by_side}
