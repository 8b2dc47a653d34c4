"""The FastDepth peer on its own NYU sample, through a generated manifest, via the real CLI.

PROVENANCE (../shared/anchors/fastdepth_224_int8, ../shared/data/rgbd/nyu_fastdepth_sample): FastDepth's
own float prediction scores AbsRel 0.140, RMSE 0.618 m, delta1 0.777 on this frame; the int8 file
AbsRel 0.140, RMSE 0.619, delta1 0.774. Protocol: no alignment, no caps, the full dense frame.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from export.manifest import write_manifest
from keras_depth.cli import main
from keras_depth.evaluation.eval_sets import nyu_fastdepth_sample
from keras_depth.metrics.depth_metrics import compute_metrics
from keras_depth.runtime.manifest import read_manifest
from keras_depth.runtime.peers import fastdepth_manifest, peer_path
from peer_fixtures import stage_peer  # tests/ is on sys.path under pytest's default import mode

pytestmark = pytest.mark.shared  # every test here reads the peer model and its sample from ../shared

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "keras_depth" / "configs" / "quickstart_local.yaml"


def test_fastdepth_manifest_matches_the_file():
    from keras_depth.runtime.tflite import load_interpreter

    m = fastdepth_manifest()
    it = load_interpreter(peer_path("fastdepth_224_int8"), num_threads=1)
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    assert list(i["shape"]) == [1, m.input.height, m.input.width, 3]
    assert i["quantization"][0] == pytest.approx(m.input.quantization.scale) and i["quantization"][1] == m.input.quantization.zero_point
    assert o["quantization"][0] == pytest.approx(m.output.quantization.scale) and o["quantization"][1] == m.output.quantization.zero_point
    assert (m.output.kind, m.output.semantics, m.output.units) == ("depth", "metric", "m")


def test_shipped_float_prediction_scores_as_documented():
    data, pred = nyu_fastdepth_sample()
    m = compute_metrics(data.depth, pred[None], data.mask)
    assert m["abs_rel"] == pytest.approx(0.140, abs=0.0015)
    assert m["delta1"] == pytest.approx(0.777, abs=0.0015)


def _run(tmp_path: Path, name: str, *model_args: str) -> dict:
    out = tmp_path / name
    rc = main(["evaluate", str(LOCAL), "--output-dir", str(tmp_path / "run"), "--data", "nyu_fastdepth_sample",
               "--out", str(out), "--set", "eval.figure_samples=1", *model_args])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    # no eval.min_depth/max_depth in the config: the caps are the model spec's range (quickstart_local: 0.25-10 m)
    assert report["protocol"] == {"alignment": "none", "min_depth": 0.25, "max_depth": 10.0, "crop": None, "averaging": "per_image"}
    (result,) = report["results"].values()
    return result


def test_int8_peer_on_its_own_sample_via_cli(tmp_path):
    by_peer = _run(tmp_path, "peer", "--peer", "fastdepth_224_int8")
    assert by_peer["abs_rel"] == pytest.approx(0.140, abs=0.005)
    assert by_peer["delta1"] == pytest.approx(0.777, abs=0.01)
    assert by_peer["rmse"] == pytest.approx(0.619, abs=0.01)
    # the same file with its manifest beside a symlink, and with an explicit manifest path
    link = stage_peer("fastdepth_224_int8", tmp_path / "staged")
    assert link.is_symlink() and read_manifest(link) == fastdepth_manifest(link.name)
    by_link = _run(tmp_path, "link", "--tflite", str(link))
    manifest = write_manifest(fastdepth_manifest(), tmp_path / "fd.tflite")
    by_arg = _run(tmp_path, "arg", "--tflite", f"{peer_path('fastdepth_224_int8')}={manifest}")
    for k in ("abs_rel", "rmse", "delta1"):
        assert by_peer[k] == by_link[k] == by_arg[k], k
    assert not (tmp_path / "staged" / "fastdepth_224_int8.json").read_text().count('"eval"')  # peers are never rewritten
