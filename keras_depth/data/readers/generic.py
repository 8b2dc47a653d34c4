"""Bring-your-own data: a CSV/JSONL manifest, or a folder of image/depth pairs.

Manifest columns (CSV header or JSONL keys): ``rgb``, ``depth`` (paths, relative to the manifest's
folder unless absolute), and optional ``scale`` (value / scale = the map's units; default by
format: 1000 for ``png16``/``sunrgbd`` millimetres, 1 otherwise), ``format`` (``png16``, ``sunrgbd``,
``png8``, ``npy``, ``pfm``, ``dpt``; default from the extension), ``semantics`` (``metric``,
``relative``, ``affine_disparity``; default ``metric``), ``mask`` (a validity file), ``fx fy cx cy``.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Optional

import tensorflow as tf

from keras_depth.data.readers.decode import depth_format_for, semantics_code
from keras_depth.data.readers.listing import IMAGE_EXTS, list_files, pair_by_key, require_dir, require_file
from keras_depth.data.readers.source import intrinsics_option, load_rgbd, records_dataset, report_missing
from keras_depth.data.registry import register_dataset
from keras_depth.errors import DataError, UsageError

_COLUMNS = {"rgb", "depth", "scale", "format", "semantics", "mask", "fx", "fy", "cx", "cy"}


def _manifest_rows(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".jsonl", ".json"):
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"{path}:{n}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise UsageError(f"{path}:{n}: expected a JSON object per line")
            rows.append(row)
        return rows
    return [dict(r) for r in csv.DictReader(text.splitlines())]


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def manifest_records(path: str, root: Optional[str] = None, name: str = "manifest", strict: bool = False) -> list[dict[str, Any]]:
    mpath = require_file(path, name)
    base = Path(root).expanduser() if root else mpath.parent
    records = []
    for n, row in enumerate(_manifest_rows(mpath), 1):
        where = f"{mpath}:{n}"
        unknown = sorted(set(row) - _COLUMNS)
        if unknown:
            raise UsageError(f"{where}: unknown column(s) {unknown} (expected some of {sorted(_COLUMNS)})")
        if _blank(row.get("rgb")) or _blank(row.get("depth")):
            raise UsageError(f"{where}: 'rgb' and 'depth' are required")
        rgb, depth = (Path(str(row[k])) for k in ("rgb", "depth"))
        rgb, depth = (p if p.is_absolute() else base / p for p in (rgb, depth))
        try:
            fmt = depth_format_for(depth, None if _blank(row.get("format")) else str(row["format"]).strip())
            sem = semantics_code("metric" if _blank(row.get("semantics")) else row["semantics"], f"{where}: semantics")
        except DataError as e:
            raise UsageError(f"{where}: {e}") from None
        scale = None if _blank(row.get("scale")) else float(row["scale"])
        intr = None
        if not all(_blank(row.get(k)) for k in ("fx", "fy", "cx", "cy")):
            intr = intrinsics_option([float(row[k]) for k in ("fx", "fy", "cx", "cy")], where)
        missing = [p for p in (rgb, depth) if not p.exists()]
        if missing:
            report_missing(name, str(missing[0]), f"missing pair: {missing[0]} not found (manifest line {n})", strict)
            continue
        mask = None if _blank(row.get("mask")) else (Path(str(row["mask"])) if Path(str(row["mask"])).is_absolute() else base / str(row["mask"]))
        records.append({"path": str(rgb), "rgb": str(rgb), "depth": str(depth), "format": fmt, "scale": scale,
                        "semantics": sem, "intrinsics": intr, "mask": str(mask) if mask else None})
    return records


@register_dataset("manifest")
def manifest_dataset(path: str, root: Optional[str] = None, strict: bool = False, shuffle: bool = False,
                     seed: Optional[int] = None) -> tf.data.Dataset:
    """Samples listed in a CSV or JSONL manifest (see the module docstring for the columns)."""
    return records_dataset("manifest", manifest_records(path, root, "manifest", strict), load_rgbd,
                           strict=strict, shuffle=shuffle, seed=seed)


def folder_pair_records(path: str, rgb_dir: Optional[str], depth_dir: str, format: Optional[str], scale: Optional[float],
                        semantics: str, intrinsics: Any, name: str, strict: bool,
                        strip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    root = require_dir(path, name)
    candidates = [rgb_dir] if rgb_dir else ["rgb", "color", "image", "images"]
    rgb_root = next((root / c for c in candidates if (root / c).is_dir()), None)
    if rgb_root is None:
        raise UsageError(f"{name}: no image folder in {root} (expected one of {candidates})")
    depth_root = require_dir(root / depth_dir, name)
    try:
        sem = semantics_code(semantics, f"{name}: semantics")
    except DataError as e:
        raise UsageError(str(e)) from None
    intr = intrinsics_option(intrinsics, name)
    rgbs = list_files(rgb_root, IMAGE_EXTS + (".npy",))
    depth_exts = (".png", ".npy", ".pfm", ".dpt")
    depths = list_files(depth_root, depth_exts)
    pairs, missing = pair_by_key(rgbs, depths, strip)
    for p in missing:
        report_missing(name, str(p), f"missing pair: no depth for {p} in {depth_root}", strict)
    return [{"path": str(r), "rgb": str(r), "depth": str(d), "format": depth_format_for(d, format), "scale": scale,
             "semantics": sem, "intrinsics": intr} for r, d in pairs]


@register_dataset("folder_pairs")
def folder_pairs_dataset(path: str, rgb_dir: Optional[str] = None, depth_dir: str = "depth", format: Optional[str] = None,
                         scale: Optional[float] = None, semantics: str = "metric", intrinsics: Any = None,
                         strict: bool = False, shuffle: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """``path/{rgb,color,image,images}/NAME.ext`` with ``path/depth/NAME.ext``, paired by file name
    (or, failing that, by the last number in it: ``color/00012.jpg`` <-> ``depth/12.png``).

    ``format``/``scale`` as in a manifest (png16 default scale 1000 = millimetres, e.g. Redwood, NYU;
    ``sunrgbd`` for SUN RGB-D's bit-rotated millimetres); ``intrinsics``: [fx, fy, cx, cy].
    """
    records = folder_pair_records(path, rgb_dir, depth_dir, format, scale, semantics, intrinsics, "folder_pairs", strict)
    return records_dataset("folder_pairs", records, load_rgbd, strict=strict, shuffle=shuffle, seed=seed)
