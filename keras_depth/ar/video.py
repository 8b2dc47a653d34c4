"""Frame sources (video file, folder of images, camera index) and an atomic mp4 writer."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from keras_depth.errors import DataError, UsageError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
DEFAULT_FPS = 10.0


def natural_key(name: str) -> list:
    """Sort key with digit runs compared as numbers: frame2 < frame10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


class FrameSource:
    """Iterates uint8 RGB frames [H, W, 3]; ``count`` is None when unknown (a camera)."""

    def __init__(self, name: str, fps: float, count: Optional[int]):
        self.name, self.fps, self.count = name, fps, count

    def __iter__(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ImageFolderSource(FrameSource):
    def __init__(self, folder: Path, files: list[Path], fps: float = DEFAULT_FPS):
        super().__init__(str(folder), fps, len(files))
        self.files = files

    def __iter__(self) -> Iterator[np.ndarray]:
        import cv2

        for f in self.files:
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is None:
                raise DataError(f"{f}: not a readable image")
            yield img[..., ::-1].copy()


class CaptureSource(FrameSource):
    """cv2.VideoCapture on a file or a camera index."""

    def __init__(self, target: str | int, name: str):
        import cv2

        self.cap = cv2.VideoCapture(target)
        if not self.cap.isOpened():
            what = f"camera {target}" if isinstance(target, int) else f"video {target}"
            raise UsageError(f"--input: cannot open {what}")
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        n = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT)) if not isinstance(target, int) else 0
        super().__init__(name, fps if fps and 0 < fps < 1000 else DEFAULT_FPS, n if n > 0 else None)

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            ok, img = self.cap.read()
            if not ok:
                return
            yield img[..., ::-1].copy()

    def close(self) -> None:
        self.cap.release()


def open_source(spec: str, flag: str = "--input") -> FrameSource:
    """A video file, a folder of images (sorted naturally), a folder holding one video, or a camera index."""
    if spec.isdigit():
        return CaptureSource(int(spec), f"camera {spec}")
    p = Path(spec)
    if p.is_dir():
        files = sorted((f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTS and f.is_file()), key=lambda f: natural_key(f.name))
        if files:
            return ImageFolderSource(p, files)
        videos = sorted(f for f in p.iterdir() if f.suffix.lower() in VIDEO_EXTS and f.is_file())
        if len(videos) == 1:
            return CaptureSource(str(videos[0]), str(videos[0]))
        raise UsageError(f"{flag}: {p} holds no images ({', '.join(IMAGE_EXTS)}) and not exactly one video (found {len(videos)})")
    if p.is_file():
        return CaptureSource(str(p), str(p))
    raise UsageError(f"{flag}: {spec} not found (expected a video file, a folder of images or a camera index)")


class Mp4Writer:
    """cv2.VideoWriter ('mp4v') into a temp file beside ``path``, renamed onto it on a clean close."""

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int]):
        import cv2

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}.", suffix=".mp4")
        os.close(fd)
        self.tmp = Path(tmp)
        self.size = size
        self.frames = 0
        self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), size)
        if not self.writer.isOpened():
            self.tmp.unlink(missing_ok=True)
            raise UsageError(f"--out: cannot write an mp4 at {self.path} (OpenCV's mp4v writer did not open)")

    def write(self, rgb: np.ndarray) -> None:
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            raise ValueError(f"frame is {rgb.shape[1]}x{rgb.shape[0]}, writer expects {self.size[0]}x{self.size[1]}")
        self.writer.write(np.ascontiguousarray(rgb[..., ::-1]))
        self.frames += 1

    def close(self, keep: bool = True) -> None:
        if self.writer is None:
            return
        self.writer.release()
        self.writer = None
        if keep and self.frames:
            written = read_video_info(self.tmp)[2] if self.tmp.stat().st_size else 0
            if written < self.frames:
                # OpenCV's writer does not report failed writes (a full disk, a file-size limit).
                self.tmp.unlink(missing_ok=True)
                raise UsageError(f"cannot write {self.path}: only {written} of {self.frames} frames reached the file "
                                 "(disk full or a file-size limit?)")
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp made it private; the video is for sharing
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(keep=exc_type is None)


def write_png(path: str | os.PathLike, rgb: np.ndarray) -> None:
    import cv2

    from keras_depth.io import atomic_write_bytes

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise RuntimeError(f"PNG encoding failed for {path}")
    atomic_write_bytes(path, buf.tobytes())


def read_video_info(path: str | os.PathLike) -> tuple[int, int, int]:
    """(frames, width, height) of a video as OpenCV decodes it (frames counted by reading)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    n, w, h = 0, 0, 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        n += 1
        h, w = img.shape[:2]
    cap.release()
    return n, w, h
