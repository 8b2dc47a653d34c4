"""``keras-depth benchmark`` on the real CLI, and the one latency timer (keras_depth.runtime.latency)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import keras_depth.cli as cli
from export.benchmark import markdown, resize_model
from peer_fixtures import stage_peer  # tests/ is on sys.path under pytest's default import mode

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
    """keras_depth.runtime.latency.measure_latency, as the benchmark (one model after another) and the
    preset table (round-robin with the peer) use it: every model timed ``runs`` times, on every input it has."""
    from keras_depth.runtime.latency import measure_latency
    from keras_depth.runtime.peers import FASTDEPTH, peer_path

    models = {"a": peer_path(FASTDEPTH), "b": peer_path(FASTDEPTH).read_bytes()}
    for interleave in (True, False):
        lat = measure_latency(models, threads=1, runs=3, warmup=1, interleave=interleave)
        assert set(lat) == {"a", "b"}
        for r in lat.values():
            assert r["runs"] == 3 and 0 < r["median_ms"] <= r["p90_ms"]


def test_comparison_sizes_default_to_each_peers_own_size():
    from export.benchmark import comparison_sizes

    assert comparison_sizes([], [(224, 224), (448, 640), (224, 224)]) == [(224, 224), (448, 640)]
    assert comparison_sizes([[96, 128]], [(224, 224)]) == [(96, 128)]  # configured sizes win
    assert comparison_sizes([], []) == []


def test_invoke_schedule_is_round_robin_after_untimed_warmup():
    from keras_depth.runtime.latency import invoke_schedule

    assert invoke_schedule(["a", "b", "c"], runs=2, warmup=1) == [
        ("a", False), ("b", False), ("c", False), ("a", True), ("b", True), ("c", True), ("a", True), ("b", True), ("c", True)]
    assert invoke_schedule(["a", "b"], runs=2, warmup=1, interleave=False) == [
        ("a", False), ("a", True), ("a", True), ("b", False), ("b", True), ("b", True)]


def test_fit_latency_slope_is_the_least_squares_line():
    from keras_depth.runtime.latency import fit_latency_slope

    pixels = [128 * 128, 224 * 224, 320 * 320]
    exact = [2.5 + 40.0 * p / 1e6 for p in pixels]  # ms = 40 ms/MP * megapixels + 2.5 ms
    slope, intercept = fit_latency_slope(pixels, exact)
    assert slope == pytest.approx(40.0) and intercept == pytest.approx(2.5)
    noisy = [3.0, 4.0, 7.5]  # closed-form least squares: slope = cov(x, y) / var(x), intercept = mean(y) - slope mean(x)
    x, y = np.array(pixels) / 1e6, np.array(noisy)
    want = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    slope, intercept = fit_latency_slope(pixels, noisy)
    assert slope == pytest.approx(want) and intercept == pytest.approx(y.mean() - want * x.mean())
    with pytest.raises(ValueError, match="distinct"):
        fit_latency_slope([100, 100], [1.0, 2.0])


@pytest.mark.shared  # the peer files from ../shared
def test_peers_resized_where_their_graph_allows():
    from export.benchmark import input_hw, peers_resized_to
    from keras_depth.runtime.peers import FASTDEPTH, PYDNET, peer_path

    notes: list[str] = []
    peers = {"fd": peer_path(FASTDEPTH), "py": peer_path(PYDNET)}
    out = peers_resized_to(peers, [(128, 128), (224, 224)], notes)
    # FastDepth adds skip connections of fixed sizes: it runs at its own 224x224 only; PyDNet++'s
    # graph resizes to 128 (and 320) but not to 224 (XNNPACK fails to reshape one of its nodes)
    assert out == {"py (128x128)": (peers["py"], (128, 128))}
    assert [n.split(" (")[0] for n in notes] == ["fd cannot run at 128x128", "py cannot run at 224x224"]
    assert input_hw(peers["fd"]) == (224, 224)


@pytest.mark.slow
@pytest.mark.shared  # the FastDepth peer file from ../shared
def test_benchmark_default_reexports_ours_at_the_peers_size(tmp_path):
    from keras_depth.config import load_config
    from keras_depth.kerasapi import keras
    from keras_depth.models import build_model_from_config

    sets = ["--set", "model.name=tiny_unet", "--set", "model.params={}"]
    config = load_config(LOCAL, [f"output_dir={tmp_path / 'run'}", "model.name=tiny_unet", "model.params={}"])
    keras.utils.set_random_seed(0)
    (tmp_path / "run").mkdir()
    build_model_from_config(config.model, (64, 64)).save(tmp_path / "run" / "model.keras")
    out = tmp_path / "bench"
    rc = cli.main(["benchmark", str(LOCAL), *sets, "--output-dir", str(tmp_path / "run"), "--variants", "int8_ptq",
                   "--peer", "fastdepth_224_int8", "--threads", "1", "--runs", "2", "--no-memory", "--out", str(out)])
    assert rc == 0
    rows = json.loads((out / "benchmark.json").read_text())
    assert [(r["model"], r["resolution"]) for r in rows] == [("int8_ptq (224x224)", "224x224"), ("peer fastdepth_224_int8", "224x224")]
