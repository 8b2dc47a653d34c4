"""The built-in synthetic datasets: rendered once into an on-disk cache, then read as raw samples.

A cache folder holds ``.npy`` arrays and ``meta.json``; its name carries a hash of every generator
parameter (and ``GENERATOR_VERSION``), so changing any of them renders a new folder instead of
reading a stale one. Folders appear atomically: a crash mid-build leaves nothing that looks done.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Union

import numpy as np
import tensorflow as tf

from keras_depth import spec
from keras_depth.data import synthetic
from keras_depth.data.registry import register_dataset
from keras_depth.errors import DataError, UsageError
from keras_depth.io import atomic_write_text, atomic_write_with

KINDS = ("mono", "stereo", "sequence")
# Arrays of each cache kind: name -> (dtype, per-frame shape given height and width).
_ARRAYS: dict[str, dict[str, tuple[Any, Callable[[int, int], tuple[int, ...]]]]] = {
    "mono": {
        "images": (np.uint8, lambda h, w: (h, w, 3)),
        "depth": (np.float32, lambda h, w: (h, w)),
        "intrinsics": (np.float32, lambda h, w: (4,)),
        "poses": (np.float32, lambda h, w: (4, 4)),
    },
    "stereo": {
        "left": (np.uint8, lambda h, w: (h, w, 3)),
        "right": (np.uint8, lambda h, w: (h, w, 3)),
        "depth": (np.float32, lambda h, w: (h, w)),
        "depth_right": (np.float32, lambda h, w: (h, w)),
        "disparity_left": (np.float32, lambda h, w: (h, w)),
        "disparity_right": (np.float32, lambda h, w: (h, w)),
        "intrinsics": (np.float32, lambda h, w: (4,)),
        "poses": (np.float32, lambda h, w: (4, 4)),
    },
}
_ARRAYS["sequence"] = {k: _ARRAYS["mono"][k] for k in ("images", "depth", "intrinsics", "poses")}
_CHUNK = 16  # frames per pool task: big enough to amortise pickling, small enough for progress
_POOL_MIN_FRAMES = 64
_SEQUENCE_FPS = 10.0  # frame rate of cached trajectories (sets the motion between neighbours)  # below this, starting worker processes costs more than it saves
PathLike = Union[str, os.PathLike]


def _check_args(split: str, count: int, height: int, width: int, seed: int) -> None:
    if split not in synthetic.SPLITS:
        raise UsageError(f"synthetic split: expected one of {synthetic.SPLITS}, got {split!r}")
    for name, value, minimum in (("count", count, 1), ("height", height, 8), ("width", width, 8), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise UsageError(f"synthetic {name}: expected an integer >= {minimum}, got {value!r}")


def cache_params(
    split: str, count: int, height: int, width: int, seed: int, kind: str = "mono", **extra: Any
) -> dict[str, Any]:
    """Everything that determines a cache's contents; its hash names the folder."""
    _check_args(split, count, height, width, seed)
    if kind not in KINDS:
        raise UsageError(f"synthetic cache kind: expected one of {KINDS}, got {kind!r}")
    params = {
        "generator": "keras_depth.data.synthetic",
        "generator_version": synthetic.GENERATOR_VERSION,
        "kind": kind,
        "split": split,
        "count": int(count),
        "height": int(height),
        "width": int(width),
        "seed": int(seed),
        "min_depth": synthetic.MIN_DEPTH,
        "max_depth": synthetic.MAX_DEPTH,
        "fov_deg": list(synthetic.FOV_RANGE_DEG),
    }
    params.update(extra)
    return params


def cache_path(cache_dir: PathLike, params: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    p = params
    return Path(cache_dir) / f"synthetic-{p['kind']}-{p['split']}-{p['height']}x{p['width']}-n{p['count']}-{digest}"


class _Progress:
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


def _tasks(params: dict[str, Any]) -> list[tuple]:
    p = params
    return [
        (
            p["kind"], p["seed"], p["split"], a, min(a + _CHUNK, p["count"]), p["height"], p["width"],
            p.get("baseline", 0.0), list(p["fov_deg"]), list(p.get("camera_height_m", synthetic.CAMERA_HEIGHT_RANGE_M)),
            p.get("pitch_deg"),
        )
        for a in range(0, p["count"], _CHUNK)
    ]


def _render_in_workers(folder: Path, tasks: list[tuple], workers: int, bar: "_Progress") -> None:
    """Render ``tasks`` into ``folder``'s memory-mapped arrays with ``workers`` child interpreters.

    Children are plain ``python -c`` processes, not a multiprocessing pool: a spawn pool re-imports
    the parent's ``__main__``, so a user script without an ``if __name__ == "__main__":`` guard
    would start pools recursively; and fork is unsafe once TensorFlow's threads run. The renderer
    module imports numpy only, so a child starts in well under a second.
    """
    code = (
        "import json, sys; from keras_depth.data.synthetic import render_into_files; "
        "render_into_files(sys.argv[1], json.loads(sys.argv[2]))"
    )
    # The children must import this very copy of the package, however the parent found it.
    root = str(Path(synthetic.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(folder), json.dumps(tasks[i::workers])],
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
            last = [l for l in err.strip().splitlines() if l.strip()]
            errors.append(last[-1] if last else f"exit code {p.returncode}")
    if errors:
        raise DataError(f"synthetic cache: a render worker failed: {errors[0]}")


def build_cache(
    cache_dir: PathLike,
    split: str,
    count: int,
    height: int,
    width: int,
    seed: int,
    *,
    kind: str = "mono",
    baseline: float = synthetic.DEFAULT_BASELINE,
    sequence_length: int = 8,
    workers: int = 2,
    progress: bool = True,
    fov_deg: Any = synthetic.FOV_RANGE_DEG,
    camera_height: Any = synthetic.CAMERA_HEIGHT_RANGE_M,
    pitch_deg: Any = None,
) -> Path:
    """Render ``count`` frames into ``cache_dir`` unless an identical cache is already there.

    ``kind`` "mono" writes images, depth, intrinsics, poses; "stereo" writes left, right, depth,
    depth_right, disparity_left, disparity_right, intrinsics, poses (baseline in meta.json);
    "sequence" writes ``count`` frames as ``count / sequence_length`` trajectories of consecutive
    frames (``count`` must be a multiple of ``sequence_length``). Returns the folder.
    """
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
        extra["fps"] = _SEQUENCE_FPS
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"synthetic workers: expected an integer >= 1, got {workers!r}")
    fov, height_m, *pitch = synthetic.check_camera_ranges(fov_deg, camera_height, pitch_deg)
    # Only non-default camera ranges enter the key, so that existing caches keep their names.
    if (fov, height_m) != (synthetic.FOV_RANGE_DEG, synthetic.CAMERA_HEIGHT_RANGE_M) or pitch:
        if kind != "mono":
            raise UsageError(f"synthetic {kind}: fov_deg, camera_height and pitch_deg can only be set for mono frames")
        extra["fov_deg"] = list(fov)
        extra["camera_height_m"] = list(height_m)
        if pitch:
            extra["pitch_deg"] = list(pitch[0])
    params = cache_params(split, count, height, width, seed, kind, **extra)
    path = cache_path(cache_dir, params)
    if (path / "meta.json").is_file():
        return path

    def write(tmp: Path) -> None:
        tmp.mkdir()
        arrays = {
            name: np.lib.format.open_memmap(tmp / f"{name}.npy", "w+", dtype, (count, *shape(height, width)))
            for name, (dtype, shape) in _ARRAYS[kind].items()
        }
        bar = _Progress(f"synthetic {kind} {split} {height}x{width}", count, progress)
        done = 0
        if kind == "sequence":
            for k in range(count // sequence_length):
                tr = synthetic.render_trajectory(seed, sequence_length, height, width, split, index=k, fps=_SEQUENCE_FPS)
                sl = slice(done, done + sequence_length)
                arrays["images"][sl], arrays["depth"][sl] = tr.images, tr.depths
                arrays["intrinsics"][sl], arrays["poses"][sl] = tr.intrinsics, tr.poses
                done += sequence_length
                bar.update(done)
        elif workers <= 1 or count < _POOL_MIN_FRAMES:
            for task in _tasks(params):
                chunk = synthetic.render_chunk(*task)
                n = len(chunk["intrinsics"])
                for name, values in chunk.items():
                    arrays[name][done : done + n] = values
                done += n
                bar.update(done)
        else:
            for a in arrays.values():
                a.flush()
            tasks = _tasks(params)
            _render_in_workers(tmp, tasks, min(workers, len(tasks)), bar)
        for a in arrays.values():
            a.flush()
        del arrays
        atomic_write_text(tmp / "meta.json", json.dumps(params, indent=2, sort_keys=True) + "\n")

    atomic_write_with(path, write)
    return path


def load_cache(path: PathLike, strict: bool = False) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Memory-mapped arrays and meta of a cache folder; shapes are checked against meta.json.

    ``strict`` also scans every depth value (finite, inside the generator's range): a full read.
    """
    path = Path(path)
    try:
        meta = json.loads((path / "meta.json").read_text())
        kind, n, h, w = meta["kind"], meta["count"], meta["height"], meta["width"]
        arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in _ARRAYS[kind]}
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{path}: unreadable synthetic cache ({e}); delete the folder to rebuild it") from e
    for name, (dtype, shape) in _ARRAYS[kind].items():
        want = (n, *shape(h, w))
        if arrays[name].shape != want or arrays[name].dtype != dtype:
            raise DataError(f"{path / name}.npy: expected {np.dtype(dtype).name} {want}, got {arrays[name].dtype} {arrays[name].shape}")
    if strict:
        depth = np.asarray(arrays["depth"])
        if not (np.isfinite(depth).all() and depth.min() >= meta["min_depth"] and depth.max() <= meta["max_depth"]):
            raise DataError(f"{path}/depth.npy: depth outside [{meta['min_depth']}, {meta['max_depth']}] m or not finite")
    return arrays, meta


def _dense_extras(depth: tf.Tensor) -> dict[str, tf.Tensor]:
    # Every ray hits the closed room, so the mask is all ones and depth is already metric.
    return {
        "mask": tf.ones_like(depth),
        "semantics": tf.constant(spec.METRIC, tf.int32),
    }


@register_dataset("synthetic")
def synthetic_dataset(
    split: str = "train",
    count: int = 1000,
    height: int = 160,
    width: int = 160,
    seed: int = 0,
    cache_dir: PathLike = "runs/cache",
    strict: bool = False,
    fov_deg: Any = synthetic.FOV_RANGE_DEG,
    camera_height: Any = synthetic.CAMERA_HEIGHT_RANGE_M,
    pitch_deg: Any = None,
) -> tf.data.Dataset:
    """Raw samples (docs/contracts.md section 1) of procedurally ray-cast rooms, metric depth in metres.

    ``fov_deg``, ``camera_height`` and ``pitch_deg`` ([low, high], degrees and metres) bound the random
    camera; ``pitch_deg`` None keeps the default pitch ~N(0, 8 deg) (``synthetic.random_camera``).
    """
    path = build_cache(
        cache_dir, split, count, height, width, seed, fov_deg=fov_deg, camera_height=camera_height, pitch_deg=pitch_deg
    )
    arrays, _ = load_cache(path, strict)
    # The arrays are small (about 215 MB at the default 1200 x 160 x 160), so slicing in-memory
    # tensors beats a per-element numpy_function, which holds the GIL and loses static shapes.
    ds = tf.data.Dataset.from_tensor_slices(
        {
            "image": np.asarray(arrays["images"]),
            "depth": np.asarray(arrays["depth"])[..., None],
            "intrinsics": np.asarray(arrays["intrinsics"]),
        }
    )

    def to_sample(x: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return {**x, **_dense_extras(x["depth"])}

    return ds.map(to_sample, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


@register_dataset("synthetic_stereo")
def synthetic_stereo_dataset(
    split: str = "train",
    count: int = 1000,
    height: int = 160,
    width: int = 160,
    seed: int = 0,
    baseline: float = synthetic.DEFAULT_BASELINE,
    cache_dir: PathLike = "runs/cache",
    strict: bool = False,
) -> tf.data.Dataset:
    """Rectified stereo pairs: left/right uint8, disparities in pixels (fx * baseline / depth), left depth."""
    path = build_cache(cache_dir, split, count, height, width, seed, kind="stereo", baseline=baseline)
    arrays, meta = load_cache(path, strict)
    ds = tf.data.Dataset.from_tensor_slices(
        {
            "left": np.asarray(arrays["left"]),
            "right": np.asarray(arrays["right"]),
            "disparity_left": np.asarray(arrays["disparity_left"])[..., None],
            "disparity_right": np.asarray(arrays["disparity_right"])[..., None],
            "depth": np.asarray(arrays["depth"])[..., None],
            "intrinsics": np.asarray(arrays["intrinsics"]),
        }
    )
    b = tf.constant(meta["baseline"], tf.float32)

    def to_sample(x: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return {**x, **_dense_extras(x["depth"]), "baseline": b}

    return ds.map(to_sample, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def synthetic_sequence(
    split: str = "train",
    count: int = 64,
    sequence_length: int = 8,
    height: int = 160,
    width: int = 160,
    seed: int = 0,
    cache_dir: PathLike = "runs/cache",
    strict: bool = False,
) -> tf.data.Dataset:
    """Cached trajectories, one element per sequence: images uint8 [T, H, W, 3], depth float32
    [T, H, W, 1], mask, semantics, intrinsics [T, 4] and camera-to-world poses float32 [T, 4, 4].

    The relative motion from frame i to j is ``inv(poses[j]) @ poses[i]`` (camera i to camera j).
    """
    path = build_cache(cache_dir, split, count, height, width, seed, kind="sequence", sequence_length=sequence_length)
    arrays, _ = load_cache(path, strict)
    n = count // sequence_length

    def seq(a: np.ndarray) -> np.ndarray:
        return np.asarray(a).reshape(n, sequence_length, *a.shape[1:])

    ds = tf.data.Dataset.from_tensor_slices(
        {
            "image": seq(arrays["images"]),
            "depth": seq(arrays["depth"])[..., None],
            "intrinsics": seq(arrays["intrinsics"]),
            "poses": seq(arrays["poses"]),
        }
    )

    def to_sample(x: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return {**x, **_dense_extras(x["depth"])}

    return ds.map(to_sample)
