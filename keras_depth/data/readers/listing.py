"""Finding files and pairing them (image with depth, left with right) by frame key."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Optional, Sequence

from keras_depth.errors import UsageError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".tif", ".tiff", ".webp")
_DIGITS = re.compile(r"(\d+)(?!.*\d)")


def require_dir(path: str | Path, where: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_dir():
        raise UsageError(f"{where}: folder not found: {p}")
    return p


def require_file(path: str | Path, where: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise UsageError(f"{where}: file not found: {p}")
    return p


def list_files(folder: Path, exts: Sequence[str], recursive: bool = False) -> list[Path]:
    exts = tuple(e.lower() for e in exts)
    it: Iterable[Path] = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in exts and not p.name.startswith("."))


def frame_key(path: Path, strip: Sequence[str] = ()) -> str:
    """The part of a file name that names the frame: the stem minus known prefixes/suffixes."""
    stem = path.stem
    for s in strip:
        if stem.startswith(s):
            stem = stem[len(s):]
        if stem.endswith(s):
            stem = stem[: -len(s)]
    return stem


def number_key(path: Path) -> Optional[str]:
    """The last run of digits in the stem, without leading zeros ('rgb_00012' -> '12')."""
    m = _DIGITS.search(path.stem)
    return str(int(m.group(1))) if m else None


def pair_by_key(left: Sequence[Path], right: Sequence[Path], strip: Sequence[str] = ()) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Pair files with the same frame key (after ``strip``), or else the same trailing number.

    Returns (pairs in ``left`` order, files of ``left`` with no partner).
    """
    by_stem = {frame_key(p, strip): p for p in right}
    pairs, missing = [], []
    if any(frame_key(p, strip) in by_stem for p in left):
        for p in left:
            q = by_stem.get(frame_key(p, strip))
            (pairs.append((p, q)) if q is not None else missing.append(p))
        return pairs, missing
    by_num = {number_key(p): p for p in right if number_key(p) is not None}
    for p in left:
        q = by_num.get(number_key(p)) if number_key(p) is not None else None
        (pairs.append((p, q)) if q is not None else missing.append(p))
    return pairs, missing


def first_existing(folder: Path, names: Sequence[str]) -> Optional[Path]:
    for n in names:
        if (folder / n).exists():
            return folder / n
    return None
