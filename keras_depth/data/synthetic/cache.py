"""The on-disk cache of rendered frames: rendered once (in worker processes), then memory-mapped.

A cache folder holds one ``NAME.npy`` per field of the frame schema (``schema.FIELDS[kind]``) and
``meta.json``; its name carries a hash of every generator parameter (and ``GENERATOR_VERSION``), so
changing any of them renders a new folder instead of reading a stale one. Folders appear
atomically: a crash mid-build leaves nothing that looks done.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from keras_depth.data.synthetic.frames import DEFAULT_BASELINE, render_frames, render_trajectory
from keras_depth.data.synthetic.sampling import (
    CAMERA_HEIGHT_RANGE_M, FOV_RANGE_DEG, MAX_DEPTH, MIN_DEPTH, SPLITS, CameraRanges, check_int,
)
from keras_depth.data.synthetic.schema import FIELDS, GENERATOR_VERSION, KINDS
from keras_depth.errors import DataError, UsageError
from keras_depth.io import atomic_write_text, atomic_write_with

CHUNK = 16  # frames per worker task: big enough to amortise a task's overhead, small enough for progress
POOL_MIN_FRAMES = 64  # below this, starting worker processes costs more than it saves
SEQUENCE_FPS = 10.0  # frame rate of cached trajectories (sets the motion between neighbours)
PathLike = Union[str, os.PathLike]


def cache_params(
    split: str, count: int, height: int, width: int, seed: int, kind: str = "mono", **extra: Any
) -> dict[str, Any]:
    """Everything that determines a cache's contents; its hash names the folder."""
    if split not in SPLITS:
        raise UsageError(f"synthetic split: expected one of {SPLITS}, got {split!r}")
    for name, value, minimum in (("count", count, 1), ("height", height, 8), ("width", width, 8), ("seed", seed, 0)):
        check_int(name, value, minimum)
    if kind not in KINDS:
        raise UsageError(f"synthetic cache kind: expected one of {KINDS}, got {kind!r}")
    params = {
        "generator": "keras_depth.data.synthetic",
        "generator_version": GENERATOR_VERSION,
        "kind": kind,
        "split": split,
        "count": int(count),
        "height": int(height),
        "width": int(width),
        "seed": int(seed),
        "min_depth": MIN_DEPTH,
        "max_depth": MAX_DEPTH,
        "fov_deg": list(FOV_RANGE_DEG),
    }
    params.update(extra)
    return params


def cache_path(cache_dir: PathLike, params: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    p = params
    return Path(cache_dir) / f"synthetic-{p['kind']}-{p['split']}-{p['height']}x{p['width']}-n{p['count']}-{digest}"


class Progress:
    """One self-overwriting line on stderr, at most a few updates a second."""

    def __init__(self, label: str, total: int, enabled: bool) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.start = self.last = time.monotonic()
        # In a log file a carriage return does not overwrite, so write whole lines, and fewer.
        self.tty = sys.stderr.isatty()
        self.every = 0.5 if self.tty else 10.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < self.every and done < self.total):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        line = f"{self.label}: {done}/{self.total} frames, {rate:.1f} frames/s"
        end = "\n" if done >= self.total or not self.tty else ""
        sys.stderr.write(("\r" if self.tty else "") + line + end)
        sys.stderr.flush()


@dataclasses.dataclass(frozen=True)
class ChunkTask:
    """Frames ``start .. stop - 1`` of a mono or stereo cache: a worker's unit of work (JSON-able)."""

    kind: str
    seed: int
    split: str
    start: int
    stop: int
    height: int
    width: int
    baseline: float = 0.0
    fov_deg: Sequence[float] = FOV_RANGE_DEG
    height_m: Sequence[float] = CAMERA_HEIGHT_RANGE_M
    pitch_deg: Optional[Sequence[float]] = None

    def render(self) -> dict[str, np.ndarray]:
        ranges = CameraRanges.checked(self.fov_deg, self.height_m, self.pitch_deg)
        return render_frames(
            self.kind, self.seed, self.split, self.start, self.stop, self.height, self.width, self.baseline, ranges
        )


def chunk_tasks(params: dict[str, Any]) -> list[ChunkTask]:
    p = params
    return [
        ChunkTask(
            p["kind"], p["seed"], p["split"], a, min(a + CHUNK, p["count"]), p["height"], p["width"],
            p.get("baseline", 0.0), list(p["fov_deg"]), list(p.get("camera_height_m", CAMERA_HEIGHT_RANGE_M)),
            p.get("pitch_deg"),
        )
        for a in range(0, p["count"], CHUNK)
    ]


def render_into_files(folder: str, tasks: Sequence[ChunkTask]) -> None:
    """Render each task into ``folder``'s ``NAME.npy`` files, in place through memory maps.

    The worker side of ``render_in_workers``: it runs in a fresh interpreter and prints one line
    (the number of frames written) per task.
    """
    arrays: dict[str, np.ndarray] = {}
    for task in tasks:
        for name, values in task.render().items():
            if name not in arrays:
                arrays[name] = np.load(f"{folder}/{name}.npy", mmap_mode="r+")
            arrays[name][task.start : task.stop] = values
        for a in arrays.values():
            a.flush()
        print(task.stop - task.start, flush=True)


def render_in_workers(folder: Path, tasks: list[ChunkTask], workers: int, bar: Progress) -> None:
    """Render ``tasks`` into ``folder``'s memory-mapped arrays with ``workers`` child interpreters.

    Children are plain ``python -c`` processes, not a multiprocessing pool: a spawn pool re-imports
    the parent's ``__main__``, so a user script without an ``if __name__ == "__main__":`` guard
    would start pools recursively; and fork is unsafe once TensorFlow's threads run. The renderer
    imports numpy only (``keras_depth.data.synthetic`` loads TensorFlow only for its datasets), so a
    child starts fast.
    """
    code = (
        "import json, sys; from keras_depth.data.synthetic.cache import ChunkTask, render_into_files; "
        "render_into_files(sys.argv[1], [ChunkTask(**t) for t in json.loads(sys.argv[2])])"
    )
    # The children must import this very copy of the package, however the parent found it.
    root = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(folder), json.dumps([dataclasses.asdict(t) for t in tasks[i::workers]])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(workers)
    ]
    done = [0] * len(procs)
    lock = threading.Lock()

    def follow(i: int) -> None:
        for line in procs[i].stdout:
            with lock:
                done[i] += int(line)
                bar.update(sum(done))

    readers = [threading.Thread(target=follow, args=(i,), daemon=True) for i in range(len(procs))]
    for t in readers:
        t.start()
    errors = []
    for p, t in zip(procs, readers):
        err = p.stderr.read()
        p.wait()
        t.join()
        if p.returncode != 0:
            last = [line for line in err.strip().splitlines() if line.strip()]
            errors.append(last[-1] if last else f"exit code {p.returncode}")
    if errors:
        raise DataError(f"synthetic cache: a render worker failed: {errors[0]}")


def _extra_params(kind: str, count: int, baseline: Any, sequence_length: Any, ranges: CameraRanges) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if kind == "stereo":
        if isinstance(baseline, bool) or not isinstance(baseline, (int, float)) or not baseline > 0:
            raise UsageError(f"synthetic baseline: expected a positive number of metres, got {baseline!r}")
        extra["baseline"] = float(baseline)
    if kind == "sequence":
        if isinstance(sequence_length, bool) or not isinstance(sequence_length, int) or sequence_length < 2:
            raise UsageError(f"synthetic sequence_length: expected an integer >= 2, got {sequence_length!r}")
        if isinstance(count, int) and count % sequence_length:
            raise UsageError(f"synthetic count: expected a multiple of sequence_length {sequence_length}, got {count}")
        extra["sequence_length"] = sequence_length
        extra["fps"] = SEQUENCE_FPS
    # Only non-default camera ranges enter the key, so that default caches keep their names.
    if not ranges.is_default:
        if kind != "mono":
            raise UsageError(f"synthetic {kind}: fov_deg, camera_height and pitch_deg can only be set for mono frames")
        extra["fov_deg"] = list(ranges.fov_deg)
        extra["camera_height_m"] = list(ranges.height_m)
        if ranges.pitch_deg is not None:
            extra["pitch_deg"] = list(ranges.pitch_deg)
    return extra


def build_cache(
    cache_dir: PathLike,
    split: str,
    count: int,
    height: int,
    width: int,
    seed: int,
    *,
    kind: str = "mono",
    baseline: float = DEFAULT_BASELINE,
    sequence_length: int = 8,
    workers: int = 2,
    progress: bool = True,
    fov_deg: Any = FOV_RANGE_DEG,
    camera_height: Any = CAMERA_HEIGHT_RANGE_M,
    pitch_deg: Any = None,
) -> Path:
    """Render ``count`` frames into ``cache_dir`` unless an identical cache is already there.

    ``kind`` "mono" and "stereo" write the fields of ``schema.FIELDS[kind]`` (stereo: the baseline in
    meta.json); "sequence" writes ``count`` frames as ``count / sequence_length`` trajectories of
    consecutive frames (``count`` must be a multiple of ``sequence_length``). Returns the folder.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"synthetic workers: expected an integer >= 1, got {workers!r}")
    ranges = CameraRanges.checked(fov_deg, camera_height, pitch_deg)
    params = cache_params(split, count, height, width, seed, kind, **_extra_params(kind, count, baseline, sequence_length, ranges))
    path = cache_path(cache_dir, params)
    if (path / "meta.json").is_file():
        return path

    def write(tmp: Path) -> None:
        tmp.mkdir()
        arrays = {
            name: np.lib.format.open_memmap(tmp / f"{name}.npy", "w+", f.dtype, (count, *f.shape(height, width)))
            for name, f in FIELDS[kind].items()
        }
        bar = Progress(f"synthetic {kind} {split} {height}x{width}", count, progress)
        done = 0
        if kind == "sequence":
            for k in range(count // sequence_length):
                tr = render_trajectory(seed, sequence_length, height, width, split, index=k, fps=SEQUENCE_FPS)
                for name, values in tr.arrays().items():
                    arrays[name][done : done + sequence_length] = values
                done += sequence_length
                bar.update(done)
        elif workers <= 1 or count < POOL_MIN_FRAMES:
            for task in chunk_tasks(params):
                for name, values in task.render().items():
                    arrays[name][task.start : task.stop] = values
                done = task.stop
                bar.update(done)
        else:
            for a in arrays.values():
                a.flush()
            tasks = chunk_tasks(params)
            render_in_workers(tmp, tasks, min(workers, len(tasks)), bar)
        for a in arrays.values():
            a.flush()
        del arrays
        atomic_write_text(tmp / "meta.json", json.dumps(params, indent=2, sort_keys=True) + "\n")

    atomic_write_with(path, write)
    return path


def load_cache(path: PathLike, strict: bool = False) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Memory-mapped arrays (by schema field name) and meta of a cache folder; shapes are checked
    against meta.json. ``strict`` also scans every depth value (finite, inside the generator's
    range): a full read."""
    path = Path(path)
    try:
        meta = json.loads((path / "meta.json").read_text())
        kind, n, h, w = meta["kind"], meta["count"], meta["height"], meta["width"]
        arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in FIELDS[kind]}
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{path}: unreadable synthetic cache ({e}); delete the folder to rebuild it") from e
    for name, f in FIELDS[kind].items():
        want = (n, *f.shape(h, w))
        if arrays[name].shape != want or arrays[name].dtype != f.dtype:
            raise DataError(
                f"{path / name}.npy: expected {np.dtype(f.dtype).name} {want}, got {arrays[name].dtype} {arrays[name].shape}"
            )
    if strict:
        depth = np.asarray(arrays["depth"])
        if not (np.isfinite(depth).all() and depth.min() >= meta["min_depth"] and depth.max() <= meta["max_depth"]):
            raise DataError(f"{path}/depth.npy: depth outside [{meta['min_depth']}, {meta['max_depth']}] m or not finite")
    return arrays, meta
