"""TFRecord packing: lossless round trip, per-worker sharding by file, and the ``data pack`` CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

import keras_depth.cli as kd_cli
from keras_depth.data.readers.source import BAD_DATA
from keras_depth.data.registry import build_dataset
from keras_depth.data.tfrecord import pack_tfrecords, read_tfrecords

KITTI = {"type": "kitti_depth", "path": None}


@pytest.fixture(autouse=True)
def _fresh_bad_data_log():
    BAD_DATA.reset()
    yield


@pytest.fixture(scope="module")
def kitti_small(shared_data):
    """Real KITTI frames, cropped small so the test stays fast (varied sizes, sparse metric depth)."""
    ds = build_dataset({"type": "kitti_depth", "path": str(shared_data / "rgbd/kitti_annotated")})
    return ds.map(lambda s: {**s, "image": s["image"][200:260, 300:380], "depth": s["depth"][200:260, 300:380],
                             "mask": s["mask"][200:260, 300:380]})


def _all(ds) -> list[dict]:
    return list(ds.as_numpy_iterator())


@pytest.mark.parametrize("encoding", ["float16", "png16"])
def test_round_trip(kitti_small, tmp_path, encoding):
    src = _all(kitti_small)
    index = pack_tfrecords(kitti_small, str(tmp_path / "p"), shards=2, depth_encoding=encoding, depth_scale=256.0)
    assert index["total"] == 3 and index["counts"] == [2, 1] and index["semantics_counts"] == {"0": 3}
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["index.json", "shard-00000-of-00002.tfrecord",
                                                                   "shard-00001-of-00002.tfrecord"]
    got = _all(build_dataset({"type": "tfrecord", "path": str(tmp_path / "p")}))
    got.sort(key=lambda s: float(s["depth"].sum()))
    src.sort(key=lambda s: float(s["depth"].sum()))
    for a, b in zip(src, got):
        np.testing.assert_array_equal(a["image"], b["image"])  # PNG: lossless
        np.testing.assert_array_equal(a["mask"], b["mask"])
        # KITTI depth is in 1/256 m steps: png16 at 256 is exact; float16 keeps 11 bits of mantissa.
        np.testing.assert_allclose(b["depth"], a["depth"], rtol=0 if encoding == "png16" else 1e-3, atol=0)
        np.testing.assert_array_equal(a["intrinsics"], b["intrinsics"])
        assert b["semantics"] == a["semantics"] and b["image"].dtype == np.uint8 and b["depth"].dtype == np.float32
    # A version-1 pack stored integer-centre intrinsics: reading it moves cx, cy to pixel centres.
    index_path = tmp_path / "p" / "index.json"
    old = {**json.loads(index_path.read_text()), "version": 1}
    index_path.write_text(json.dumps(old))
    for a, b in zip(src, sorted(_all(build_dataset({"type": "tfrecord", "path": str(tmp_path / "p")})),
                                key=lambda s: float(s["depth"].sum()))):
        np.testing.assert_array_equal(b["intrinsics"], a["intrinsics"] + np.float32([0, 0, 0.5, 0.5]))


def test_stereo_pairs_round_trip(shared_data, tmp_path):
    ds = build_dataset({"type": "stereo_folder", "path": str(shared_data / "stereo/kitti_odometry_gray"),
                        "focal_length": 718.856, "baseline": 0.537})
    ds = ds.map(lambda s: {k: (v[:40, :50] if v.shape.rank == 3 else v) for k, v in s.items()})
    pack_tfrecords(ds, str(tmp_path), shards=1)
    (a,), (b,) = _all(ds), _all(build_dataset({"type": "tfrecord", "path": str(tmp_path)}))
    assert set(a) == set(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_file_sharding_per_worker(kitti_small, tmp_path):
    pack_tfrecords(kitti_small.repeat(2), str(tmp_path), shards=4)  # 6 samples: 2, 2, 1, 1
    pattern = str(tmp_path / "shard-*.tfrecord")
    everything = _all(read_tfrecords(pattern))
    assert len(everything) == 6
    parts = [_all(read_tfrecords(pattern, input_context=tf.distribute.InputContext(2, i, 1))) for i in range(2)]
    assert [len(p) for p in parts] == [3, 3]  # shards {0, 2} and {1, 3}
    ds = read_tfrecords(pattern)
    assert ds.options().experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.FILE
    # What tf.distribute does to each worker's copy under the FILE policy: shard the file list.
    from tensorflow.python.data.experimental.ops import distribute

    sharded = [_all(distribute._AutoShardDataset(ds, 2, i)) for i in range(2)]  # noqa: SLF001
    assert [len(p) for p in sharded] == [3, 3]
    sums = sorted(float(s["depth"].sum()) for p in sharded for s in p)
    assert sums == pytest.approx(sorted(float(s["depth"].sum()) for s in everything))


def _run_cli(argv):
    return kd_cli.main(argv)


def _pairs(folder, n, bad=None):
    import cv2

    (folder / "rgb").mkdir(parents=True)
    (folder / "depth").mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"rgb/{i:03d}.png"), np.full((6, 8, 3), 10 * i, np.uint8))
        cv2.imwrite(str(folder / f"depth/{i:03d}.png"), np.full((6, 8), 1000 + i, np.uint16))
    if bad is not None:
        p = folder / f"depth/{bad:03d}.png"
        p.write_bytes(p.read_bytes()[:30])
        return p


def test_cli_pack_dataset(tmp_path, capsys):
    bad = _pairs(tmp_path / "data", 5, bad=2)
    rc = _run_cli(["data", "pack", "--dataset", "folder_pairs", "--path", str(tmp_path / "data"),
                   "--option", "scale=1000", "--out", str(tmp_path / "out"), "--shards", "2"])
    assert rc == 0
    assert "packed 4 samples (1 skipped)" in capsys.readouterr().out
    index = json.loads((tmp_path / "out/index.json").read_text())
    assert index["total"] == 4 and index["source"]["type"] == "folder_pairs"
    got = _all(build_dataset({"type": "tfrecord", "path": str(tmp_path / "out")}))
    assert sorted(round(float(s["depth"][0, 0, 0]), 3) for s in got) == [1.0, 1.001, 1.003, 1.004]
    # --strict: the first bad file fails the run with its path, exit code 2, and nothing is published.
    rc = _run_cli(["data", "pack", "--dataset", "folder_pairs", "--path", str(tmp_path / "data"),
                   "--out", str(tmp_path / "strict"), "--shards", "2", "--strict"])
    err = capsys.readouterr().err
    assert rc == 2 and str(bad) in err and err.count("\n") == 1
    assert not (tmp_path / "strict/index.json").exists()
    assert not [p for p in (tmp_path / "strict").iterdir() if p.suffix == ".tfrecord"]


def test_cli_pack_config_and_usage_errors(tmp_path, capsys):
    _pairs(tmp_path / "a", 2)
    _pairs(tmp_path / "b", 3)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data:\n  train:\n    - {{type: folder_pairs, path: {tmp_path / 'a'}, weight: 2}}\n"
                   f"    - {{type: folder_pairs, path: {tmp_path / 'b'}, semantics: relative, weight: 1}}\n")
    rc = _run_cli(["data", "pack", str(cfg), "--out", str(tmp_path / "o"), "--shards", "1"])
    out = capsys.readouterr().out
    assert rc == 0 and "{type: tfrecord, path: " in out and "weight: 2" in out
    assert json.loads((tmp_path / "o/01_folder_pairs/index.json").read_text())["semantics_counts"] == {"1": 3}
    assert _run_cli(["data", "pack", "--out", str(tmp_path / "x")]) == 2
    assert _run_cli(["data", "pack", "--dataset", "nope", "--path", "x", "--out", str(tmp_path / "x")]) == 2
    assert "unknown" in capsys.readouterr().err
    # CONFIG takes --set like every subcommand; CONFIG and --dataset are alternatives.
    rc = _run_cli(["data", "pack", str(cfg), "--set", f"data.train=[{{type: folder_pairs, path: {tmp_path / 'b'}}}]",
                   "--out", str(tmp_path / "s"), "--shards", "1"])
    assert rc == 0 and json.loads((tmp_path / "s/00_folder_pairs/index.json").read_text())["total"] == 3
    assert not (tmp_path / "s/01_folder_pairs").exists()
    assert _run_cli(["data", "pack", str(cfg), "--dataset", "folder_pairs", "--out", str(tmp_path / "x")]) == 2


def test_pack_short_side_downscales_with_intrinsics(kitti_small, shared_data, tmp_path):
    from keras_depth.data.registry import build_dataset as bd

    full = bd({"type": "kitti_depth", "path": str(shared_data / "rgbd/kitti_annotated")}).take(1)
    index = pack_tfrecords(full, str(tmp_path), shards=1, short_side=125)
    assert index["short_side"] == 125
    (s,) = _all(build_dataset({"type": "tfrecord", "path": str(tmp_path)}))
    assert s["image"].shape == (125, 414, 3)  # 375x1242 -> x1/3
    # KITTI's P2 puts pixel centres at integers; samples at j + 0.5, which a resize simply scales.
    np.testing.assert_allclose(s["intrinsics"], [707.0493 / 3, 707.0493 / 3, (604.0814 + 0.5) / 3, (180.5066 + 0.5) / 3], rtol=1e-5)
    assert set(np.unique(s["mask"])) <= {0.0, 1.0} and s["depth"][s["mask"] > 0].min() > 5.0
