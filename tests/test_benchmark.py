"""``keras-depth benchmark`` on the real CLI, and the one latency timer (export.latency)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import keras_depth.cli as cli
from export.benchmark import markdown, resize_model
from export.peers import stage_peer

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "keras_depth" / "configs" / "quickstart_local.yaml"


@pytest.mark.shared  # the FastDepth peer file from ../shared
def test_benchmark_cli_times_our_files_and_peers_in_one_process(tmp_path):
    ours = stage_peer("fastdepth_224_int8", tmp_path / "models")  # any .tflite with a manifest stands in for ours
    out = tmp_path / "bench"
    rc = cli.main(["benchmark", str(LOCAL), "--output-dir", str(tmp_path / "run"), "--tflite", str(ours),
                   "--peer", "fastdepth_224_int8", "--threads", "1,2", "--runs", "3", "--out", str(out)])
    assert rc == 0
    rows = json.loads((out / "benchmark.json").read_text())
    assert [(r["model"].split(" ")[0], r["threads"]) for r in rows] == [("int8_ptq", 1), ("int8_ptq", 2), ("peer", 1), ("peer", 2)]
    for r in rows:
        assert r["resolution"] == "224x224" and r["input_dtype"] == "uint8"
        assert 0 < r["median_ms"] <= r["p90_ms"]
        assert r["size_kib"] > 1000
        assert r["peak_mib"] is not None and r["peak_mib"] > 0
    assert "| peer fastdepth_224_int8 | 224x224 | uint8 | 2 |" in (out / "benchmark.md").read_text()


def test_benchmark_cli_bad_threads_is_a_usage_error(tmp_path, capsys):
    rc = cli.main(["benchmark", str(LOCAL), "--output-dir", str(tmp_path), "--threads", "0", "--peer", "fastdepth_224_int8"])
    assert rc == 2 and "--threads" in capsys.readouterr().err


def test_resize_model_keeps_weights(tmp_path):
    from keras_depth.config import load_config
    from keras_depth.kerasapi import keras
    from keras_depth.models import build_model_from_config

    config = load_config(LOCAL, [f"output_dir={tmp_path}", "model.name=tiny_unet", "model.params={}"])
    keras.utils.set_random_seed(0)
    model = build_model_from_config(config.model, (64, 64))
    big = resize_model(model, (96, 128), config)
    assert big.input_shape == (None, 96, 128, 3) and big.output_shape[1:3] == (96, 128)
    for a, b in zip(model.get_weights(), big.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert markdown([], "t").startswith("# t")


@pytest.mark.shared  # the FastDepth peer file from ../shared
def test_one_latency_timer_round_robin_or_one_after_another():
    """export.latency.measure_latency, as the benchmark (one model after another) and the preset table
    (round-robin with the peer) use it: every model timed ``runs`` times, on every input it has."""
    from export.latency import measure_latency
    from export.peers import FASTDEPTH, peer_path

    models = {"a": peer_path(FASTDEPTH), "b": peer_path(FASTDEPTH).read_bytes()}
    for interleave in (True, False):
        lat = measure_latency(models, threads=1, runs=3, warmup=1, interleave=interleave)
        assert set(lat) == {"a", "b"}
        for r in lat.values():
            assert r["runs"] == 3 and 0 < r["median_ms"] <= r["p90_ms"]
