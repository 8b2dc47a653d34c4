"""Sharded TFRecords of raw samples, for data larger than memory or on a distributed filesystem.

``pack_tfrecords`` writes ``OUT/shard-NNNNN-of-MMMMM.tfrecord`` (each written to a temporary name and
renamed when complete) and ``OUT/index.json``. ``read_tfrecords`` streams them with
``Dataset.list_files(shuffle=False)`` + ``interleave``, so ``tf.distribute`` can shard by FILE
(``AutoShardPolicy.FILE``, set on the dataset's options) and each worker reads only its own shards;
with ``distribute_datasets_from_function`` pass the ``tf.distribute.InputContext`` instead.

One record per sample: ``image`` PNG (or JPEG), ``depth`` float16 bytes or 16-bit PNG of
``round(depth * depth_scale)``, ``mask`` 8-bit PNG, ``semantics``, ``intrinsics``; stereo pairs
add the ``*_right`` views and ``baseline``.
"""
from __future__ import annotations

import json
import os
import posixpath
from typing import Any, Optional

import numpy as np
import tensorflow as tf

from keras_depth.data.registry import register_dataset
from keras_depth.errors import DataError, UsageError

INDEX_NAME = "index.json"
FORMAT_NAME = "keras-depth-tfrecord"
# 2: intrinsics with pixel centres at j + 0.5, as in samples. Version 1 packs hold the readers'
# earlier integer-centre cx, cy, which tfrecord_dataset moves by half a pixel on read.
FORMAT_VERSION = 2
DEPTH_ENCODINGS = ("float16", "png16")
IMAGE_FORMATS = ("png", "jpeg")
_RIGHT_KEYS = ("image_right", "depth_right", "mask_right", "intrinsics_right", "baseline")


def _bytes(v: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))


def _floats(v: Any) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=np.asarray(v, np.float32).reshape(-1).tolist()))


def _ints(v: Any) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=np.asarray(v, np.int64).reshape(-1).tolist()))


def _encode_view(features: dict[str, tf.train.Feature], sample: dict[str, np.ndarray], suffix: str, image_format: str,
                 depth_encoding: str, depth_scale: float) -> None:
    import cv2

    image = np.asarray(sample["image" + suffix])
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, enc = cv2.imencode(".png" if image_format == "png" else ".jpg", bgr,
                           [cv2.IMWRITE_PNG_COMPRESSION, 1] if image_format == "png" else [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise DataError(f"cannot encode image{suffix} as {image_format}")
    depth = np.asarray(sample["depth" + suffix], np.float32)[..., 0]
    mask = np.asarray(sample["mask" + suffix], np.float32)[..., 0] > 0.5
    if depth_encoding == "float16":
        if depth.max(initial=0.0) > np.finfo(np.float16).max:
            raise DataError(f"depth{suffix} {depth.max():.4g} exceeds float16 range (use depth_encoding png16)")
        depth_bytes = depth.astype("<f2").tobytes()
    else:
        q = np.round(depth * depth_scale)
        if q.max(initial=0.0) > 65535:
            raise DataError(f"depth{suffix} {depth.max():.4g} exceeds 65535/{depth_scale} in png16 (lower depth_scale)")
        # A valid pixel must stay valid: never let it round to the 0 that means 'invalid'.
        q = np.where(mask, np.maximum(q, 1), 0).astype(np.uint16)
        ok, enc_d = cv2.imencode(".png", q, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        depth_bytes = enc_d.tobytes()
    ok, enc_m = cv2.imencode(".png", mask.astype(np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    features["image" + suffix] = _bytes(enc.tobytes())
    features["depth" + suffix] = _bytes(depth_bytes)
    features["mask" + suffix] = _bytes(enc_m.tobytes())
    features["intrinsics" + suffix] = _floats(sample["intrinsics" + suffix])


def encode_example(sample: dict[str, np.ndarray], image_format: str = "png", depth_encoding: str = "float16",
                   depth_scale: float = 256.0) -> bytes:
    """One raw sample (numpy values) -> a serialized ``tf.train.Example``."""
    h, w = np.asarray(sample["image"]).shape[:2]
    features = {"height": _ints(h), "width": _ints(w), "semantics": _ints(sample["semantics"])}
    _encode_view(features, sample, "", image_format, depth_encoding, depth_scale)
    if "image_right" in sample:
        _encode_view(features, sample, "_right", image_format, depth_encoding, depth_scale)
        features["baseline"] = _floats(sample["baseline"])
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def _shard_name(i: int, n: int) -> str:
    return f"shard-{i:05d}-of-{n:05d}.tfrecord"


def _write_text(path: str, text: str) -> None:
    if "://" in path:
        tmp = path + ".tmp"
        with tf.io.gfile.GFile(tmp, "w") as f:
            f.write(text)
        tf.io.gfile.rename(tmp, path, overwrite=True)
    else:
        from keras_depth.io import atomic_write_text

        atomic_write_text(path, text)


def pack_tfrecords(dataset: tf.data.Dataset, out_dir: str, shards: int, *, image_format: str = "png",
                   depth_encoding: str = "float16", depth_scale: float = 256.0, short_side: Optional[int] = None,
                   source: Optional[dict] = None) -> dict[str, Any]:
    """Write a dataset of raw samples as ``shards`` TFRecord files plus ``index.json``; returns the index.

    Samples go round-robin to shards, so shard sizes differ by at most one. Each shard is written under
    a temporary name and renamed when complete; the index is written last, so a folder with an
    ``index.json`` is always a complete set. ``depth_encoding``: ``float16`` (relative precision 1e-3)
    or ``png16`` (``round(depth * depth_scale)``; 256 = KITTI's 1/256 m steps, up to 256 m).
    ``short_side``: store frames downscaled so their shorter side is at most this many pixels (e.g. a
    little above the training size), which makes every later epoch decode and resize less.
    """
    if shards < 1:
        raise UsageError(f"shards: expected >= 1, got {shards}")
    if image_format not in IMAGE_FORMATS:
        raise UsageError(f"image_format: expected one of {IMAGE_FORMATS}, got {image_format!r}")
    if depth_encoding not in DEPTH_ENCODINGS:
        raise UsageError(f"depth_encoding: expected one of {DEPTH_ENCODINGS}, got {depth_encoding!r}")
    if not depth_scale > 0:
        raise UsageError(f"depth_scale: expected > 0, got {depth_scale}")
    stereo = "image_right" in dataset.element_spec
    if short_side is not None:
        if short_side < 1:
            raise UsageError(f"short_side: expected >= 1, got {short_side}")
        from keras_depth.data.augment import shrink_sample

        dataset = dataset.map(lambda s: shrink_sample(s, int(short_side)), num_parallel_calls=tf.data.AUTOTUNE)
    tf.io.gfile.makedirs(out_dir)
    names = [_shard_name(i, shards) for i in range(shards)]
    tmp = [posixpath.join(out_dir, f".{n}.tmp") for n in names]
    writers = [tf.io.TFRecordWriter(p) for p in tmp]
    counts = [0] * shards
    semantics_counts: dict[str, int] = {}
    try:
        for i, sample in enumerate(dataset.as_numpy_iterator()):
            writers[i % shards].write(encode_example(sample, image_format, depth_encoding, depth_scale))
            counts[i % shards] += 1
            key = str(int(sample["semantics"]))
            semantics_counts[key] = semantics_counts.get(key, 0) + 1
        for wr in writers:
            wr.close()
        for t, n in zip(tmp, names):
            tf.io.gfile.rename(t, posixpath.join(out_dir, n), overwrite=True)
    finally:
        for wr in writers:
            wr.close()
        for t in tmp:
            if tf.io.gfile.exists(t):
                tf.io.gfile.remove(t)
    index = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "shards": names, "counts": counts, "total": sum(counts),
        "image_format": image_format, "depth_encoding": depth_encoding, "depth_scale": depth_scale, "stereo": stereo,
        "short_side": short_side,
        "semantics_counts": semantics_counts, "source": source or {},
    }
    _write_text(posixpath.join(out_dir, INDEX_NAME), json.dumps(index, indent=2, sort_keys=True))
    return index


def read_index(out_dir: str) -> dict[str, Any]:
    path = posixpath.join(out_dir, INDEX_NAME)
    if not tf.io.gfile.exists(path):
        raise UsageError(f"tfrecord: no {INDEX_NAME} in {out_dir} (not a packed folder, or packing did not finish)")
    with tf.io.gfile.GFile(path) as f:
        index = json.loads(f.read())
    if index.get("format") != FORMAT_NAME:
        raise UsageError(f"{path}: not a {FORMAT_NAME} index")
    return index


def _feature_spec(stereo: bool) -> dict[str, Any]:
    spec = {
        "height": tf.io.FixedLenFeature([], tf.int64), "width": tf.io.FixedLenFeature([], tf.int64),
        "semantics": tf.io.FixedLenFeature([], tf.int64),
    }
    for s in ("", "_right") if stereo else ("",):
        spec.update({f"image{s}": tf.io.FixedLenFeature([], tf.string), f"depth{s}": tf.io.FixedLenFeature([], tf.string),
                     f"mask{s}": tf.io.FixedLenFeature([], tf.string), f"intrinsics{s}": tf.io.FixedLenFeature([4], tf.float32)})
    if stereo:
        spec["baseline"] = tf.io.FixedLenFeature([], tf.float32)
    return spec


def _from_integer_centres(intr: tf.Tensor) -> tf.Tensor:
    return tf.where(intr[0] > 0, intr + tf.constant([0.0, 0.0, 0.5, 0.5]), intr)


def decode_example(serialized: tf.Tensor, stereo: bool = False, depth_encoding: str = "float16", depth_scale: float = 256.0,
                   version: int = FORMAT_VERSION) -> dict[str, tf.Tensor]:
    """A serialized example of a pack of format ``version`` -> a raw sample (docs/contracts.md
    section 1), as TensorFlow ops."""
    ex = tf.io.parse_single_example(serialized, _feature_spec(stereo))
    h, w = tf.cast(ex["height"], tf.int32), tf.cast(ex["width"], tf.int32)
    out: dict[str, tf.Tensor] = {"semantics": tf.cast(ex["semantics"], tf.int32)}
    for s in ("", "_right") if stereo else ("",):
        image = tf.io.decode_image(ex[f"image{s}"], channels=3, dtype=tf.uint8, expand_animations=False)
        if depth_encoding == "float16":
            depth = tf.reshape(tf.cast(tf.io.decode_raw(ex[f"depth{s}"], tf.float16), tf.float32), [h, w, 1])
        else:
            depth = tf.cast(tf.io.decode_png(ex[f"depth{s}"], channels=1, dtype=tf.uint16), tf.float32) / depth_scale
        mask = tf.cast(tf.io.decode_png(ex[f"mask{s}"], channels=1), tf.float32)
        out[f"image{s}"] = tf.ensure_shape(image, [None, None, 3])
        out[f"depth{s}"] = tf.ensure_shape(depth * mask, [None, None, 1])
        out[f"mask{s}"] = tf.ensure_shape(mask, [None, None, 1])
        out[f"intrinsics{s}"] = ex[f"intrinsics{s}"] if version >= 2 else _from_integer_centres(ex[f"intrinsics{s}"])
    if stereo:
        out["baseline"] = ex["baseline"]
    return out


def read_tfrecords(path_pattern: str, *, stereo: bool = False, depth_encoding: str = "float16", depth_scale: float = 256.0,
                   shuffle_files: bool = False, seed: Optional[int] = None,
                   input_context: Optional[tf.distribute.InputContext] = None, cycle_length: int = 4,
                   version: int = FORMAT_VERSION) -> tf.data.Dataset:
    """Stream raw samples from TFRecord shards matching ``path_pattern``.

    The file list comes first (``list_files(shuffle=False)``, optionally shuffled each epoch with
    ``seed`` -- the same on every worker), then ``interleave`` reads ``cycle_length`` shards at once.
    With ``input_context`` each input pipeline keeps its own 1/N of the files; without it, the options
    ask tf.distribute to shard by FILE. ``version``: the pack's format version (its index.json).
    """
    if depth_encoding not in DEPTH_ENCODINGS:
        raise UsageError(f"depth_encoding: expected one of {DEPTH_ENCODINGS}, got {depth_encoding!r}")
    if not tf.io.gfile.glob(path_pattern):
        raise UsageError(f"tfrecord: no files match {path_pattern}")
    files = tf.data.Dataset.list_files(path_pattern, shuffle=False)
    if input_context is not None and input_context.num_input_pipelines > 1:
        files = files.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    if shuffle_files:
        files = files.shuffle(1 << 16, seed=seed, reshuffle_each_iteration=True)
    ds = files.interleave(lambda f: tf.data.TFRecordDataset(f, buffer_size=8 << 20), cycle_length=cycle_length,
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=not shuffle_files)
    ds = ds.map(lambda s: decode_example(s, stereo, depth_encoding, depth_scale, version), num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.FILE
    return ds.with_options(options)


@register_dataset("tfrecord")
def tfrecord_dataset(path: str, shuffle_files: bool = False, seed: Optional[int] = None) -> tf.data.Dataset:
    """Samples packed by ``keras-depth data pack``: ``path`` is the packed folder (its ``index.json``
    gives the encoding) or a glob of shards (float16 depth, mono, the current format, assumed)."""
    if tf.io.gfile.isdir(path):
        index = read_index(path)
        pattern = posixpath.join(path, "shard-*-of-*.tfrecord")
        return read_tfrecords(pattern, stereo=bool(index["stereo"]), depth_encoding=index["depth_encoding"],
                              depth_scale=float(index["depth_scale"]), shuffle_files=shuffle_files, seed=seed,
                              version=int(index["version"]))
    parent = os.path.dirname(path)
    if parent and tf.io.gfile.exists(posixpath.join(parent, INDEX_NAME)):
        index = read_index(parent)
        return read_tfrecords(path, stereo=bool(index["stereo"]), depth_encoding=index["depth_encoding"],
                              depth_scale=float(index["depth_scale"]), shuffle_files=shuffle_files, seed=seed,
                              version=int(index["version"]))
    return read_tfrecords(path, shuffle_files=shuffle_files, seed=seed)
