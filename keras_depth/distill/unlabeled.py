"""Unlabelled real frames for distillation: video files, frame folders, image folders, single images.

A source entry is ``{path, every, count, name, weight}``:

- ``path``: a video file, a folder of frames or photos (sorted by name), one image file, or a glob
  pattern of image files (``stereo/*/*left*.png``);
- ``every``: keep every n-th frame (consecutive video frames are near-duplicates);
- ``count``: or keep about this many, evenly spaced (``every`` is then derived from the length);
- ``name``: the source's label in reports and frame keys (default: the file or folder stem);
- ``weight``: its sampling weight when the pseudo-labelled sources are mixed (default: its number
  of kept frames, so every frame is drawn about equally often).

Each frame has a key ``<name>/<frame>``: the image's stem, or ``f000123`` for video frame 123.
A frame that cannot be decoded is skipped and counted (``BAD_DATA``); a source with no frame at all,
or a video that cannot be opened, is a one-line UsageError naming the path.
"""
from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from keras_depth.imagefiles import read_rgb
from keras_depth.data.readers.listing import IMAGE_EXTS, list_files
from keras_depth.data.readers.source import BAD_DATA
from keras_depth.data.readers.video import VIDEO_EXTS, iter_frames, video_info
from keras_depth.errors import DataError, UsageError

SOURCE_KEYS = ("path", "every", "count", "name", "weight")


@dataclasses.dataclass(frozen=True)
class FrameSource:
    path: str
    every: int = 1
    count: Optional[int] = None
    name: str = ""
    weight: Optional[float] = None  # None: the number of kept frames

    @classmethod
    def from_entry(cls, entry: Any, where: str) -> "FrameSource":
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
            raise UsageError(f"{where}: expected {{path: VIDEO|FOLDER|IMAGE|GLOB, every, count, name, weight}}, got {entry!r}")
        unknown = sorted(set(entry) - set(SOURCE_KEYS))
        if unknown:
            raise UsageError(f"{where}.{unknown[0]}: unknown key (expected some of {', '.join(SOURCE_KEYS)})")
        every, count, weight = entry.get("every", 1), entry.get("count"), entry.get("weight")
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise UsageError(f"{where}.every: expected an integer >= 1, got {every!r}")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise UsageError(f"{where}.count: expected an integer >= 1, got {count!r}")
        if weight is not None and (not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0):
            raise UsageError(f"{where}.weight: expected a number >= 0, got {weight!r}")
        path = str(entry["path"])
        name = entry.get("name") or Path(path.split("*")[0].rstrip("/") or path).stem or "frames"
        if not isinstance(name, str) or "/" in name:
            raise UsageError(f"{where}.name: expected a name without '/', got {name!r}")
        return cls(path=path, every=every, count=count, name=name, weight=None if weight is None else float(weight))

    def files(self) -> Optional[list[Path]]:
        """The image files of a folder, image or glob source (None for a video)."""
        p = Path(self.path).expanduser()
        if any(c in self.path for c in "*?["):
            return sorted(Path(f) for f in glob.glob(str(p)) if Path(f).suffix.lower() in IMAGE_EXTS)
        if p.is_dir():
            return list_files(p, IMAGE_EXTS)
        if p.is_file() and p.suffix.lower() in IMAGE_EXTS:
            return [p]
        if p.is_file() and p.suffix.lower() in VIDEO_EXTS:
            return None
        if p.is_file():
            raise UsageError(f"{p}: not a video ({', '.join(VIDEO_EXTS)}) or image file")
        raise UsageError(f"frame source not found: {p}")

    def stride(self, total: int) -> int:
        if self.count:
            return max(self.every, total // self.count) if total else self.every
        return self.every

    def describe(self) -> dict[str, Any]:
        """What the frames depend on (part of the pseudo-label cache key): options, names and sizes."""
        files = self.files()
        listing = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files] if files is not None else [
            (str(Path(self.path).expanduser().resolve()), Path(self.path).stat().st_size, Path(self.path).stat().st_mtime_ns)]
        digest = hashlib.sha256(json.dumps(listing).encode()).hexdigest()
        return {"name": self.name, "every": self.every, "count": self.count, "listing": digest}


def iter_source(source: FrameSource, strict: bool = False) -> Iterator[tuple[str, np.ndarray]]:
    """``(key, uint8 RGB [H, W, 3])`` of the source's kept frames; a UsageError if there are none."""
    files = source.files()
    n = 0
    if files is not None:
        if not files:
            raise UsageError(f"frame source {source.path}: no images ({', '.join(IMAGE_EXTS)}) found")
        stride = source.stride(len(files))
        for f in files[::stride][: source.count or None]:
            try:
                frame = read_rgb(f)
            except DataError as e:
                BAD_DATA.report("unlabeled", str(f), str(e), strict)
                continue
            n += 1
            yield f"{source.name}/{frame_name(f, source)}", frame
    else:
        info = video_info(source.path)
        stride = source.stride(int(info["frames"]))
        for index, frame in iter_frames(source.path, stride=stride, max_frames=source.count, strict=strict):
            n += 1
            yield f"{source.name}/f{index:06d}", frame
    if n == 0:
        raise UsageError(f"frame source {source.path}: no frame could be decoded")


def frame_name(path: Path, source: FrameSource) -> str:
    """A frame's name within its source: the file stem (with its folder's name for a glob, whose
    files may share stems, e.g. ``*/left.png``)."""
    return f"{path.parent.name}_{path.stem}" if any(c in source.path for c in "*?[") else path.stem


def parse_sources(entries: Any, where: str = "distill.sources") -> list[FrameSource]:
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{where}: expected a non-empty list of frame sources (video, folder, image or glob)")
    sources = [FrameSource.from_entry(e, f"{where}[{i}]") for i, e in enumerate(entries)]
    names = [s.name for s in sources]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise UsageError(f"{where}: two sources are named {dup!r}; give each a distinct name")
    return sources
