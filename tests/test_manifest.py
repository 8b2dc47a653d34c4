"""The manifest contract: JSON round trip, the copy embedded in the .tflite, the Kotlin key set, and
evaluation through the manifest on disk giving the numbers of the in-memory path."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from export.manifest import embed_manifest, write_manifest
from keras_depth.errors import UsageError
from keras_depth.runtime.manifest import (InputSpec, Manifest, OutputSpec, Quantization, read_embedded_manifest,
                                          read_manifest)
from keras_depth.runtime.metadata import METADATA_NAME, embedded_manifest_text

REPO = Path(__file__).resolve().parents[1]
KOTLIN = REPO / "android_demo" / "depth-core" / "src" / "main" / "kotlin" / "dev" / "kerasdepth" / "core" / "Manifest.kt"


def sample_manifest() -> Manifest:
    return Manifest(
        model_file="model_int8_ptq.tflite", variant="int8_ptq",
        input=InputSpec(height=96, width=128, dtype="uint8", channel_order="RGB",
                        normalization={"scale": [1 / 255.0] * 3, "offset": [0.0, -0.5, 0.25]},
                        quantization=Quantization(scale=1 / 255.0, zero_point=0)),
        output=OutputSpec(height=96, width=128, kind="disparity", semantics="affine_disparity", units="relative",
                          range=[0.1, 4.0], dtype="uint8", quantization=Quantization(scale=0.015, zero_point=3)),
        training_config_sha256="ab" * 32,
        metrics={"parity": {"max_abs": 0.01, "ok": True}, "eval": {"abs_rel": 0.12, "protocol": {"alignment": "median"}}},
        notes="test",
    )


def test_json_round_trip(tmp_path):
    m = sample_manifest()
    assert Manifest.from_json(m.to_json()) == m
    path = write_manifest(m, tmp_path / "model_int8_ptq.tflite")
    assert path == tmp_path / "model_int8_ptq.json"
    assert read_manifest(tmp_path / "model_int8_ptq.tflite") == m
    assert read_manifest(path) == m
    assert read_manifest(tmp_path / "elsewhere.tflite", manifest=path) == m  # a third party's explicit manifest


def test_schema_errors_name_the_key():
    d = sample_manifest().to_dict()
    with pytest.raises(UsageError, match="unknown key"):
        Manifest.from_dict({**d, "extra": 1})
    with pytest.raises(UsageError, match="'version'"):
        Manifest.from_dict({**d, "version": 99})
    with pytest.raises(UsageError, match="output.quantization"):
        Manifest.from_dict({**d, "output": {**d["output"], "quantization": None}})


def test_keys_are_the_ones_kotlin_accepts():
    """depth-core rejects unknown keys: every key we write must be in its rejectUnknown sets."""
    sets = [set(re.findall(r'"(\w+)"', s)) for s in re.findall(r"rejectUnknown\(setOf\(([^)]*)\)\)", KOTLIN.read_text())]
    allowed = set().union(*sets)
    d = sample_manifest().to_dict()
    for part in (d, d["input"], d["output"], d["input"]["normalization"], d["input"]["quantization"]):
        assert set(part) - allowed == set(), set(part) - allowed


def toy_tflite(io_int8: bool):
    from keras_depth.kerasapi import keras, tf

    keras.utils.set_random_seed(2)
    L = keras.layers
    inp = keras.Input((12, 16, 3), batch_size=1)
    x = L.Conv2D(4, 3, padding="same", activation="relu")(inp)
    model = keras.Model(inp, L.Conv2D(1, 1, activation="sigmoid")(x))
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    if io_int8:
        xs = np.random.default_rng(0).random((4, 12, 16, 3), dtype=np.float32)
        c.optimizations = [tf.lite.Optimize.DEFAULT]
        c.representative_dataset = lambda: ([x[None]] for x in xs)
        c.inference_input_type = c.inference_output_type = tf.uint8
    return model, c.convert()


@pytest.fixture(scope="module")
def toys():
    return {v: toy_tflite(v == "int8_ptq") for v in ("float32", "int8_ptq")}


def _manifest_for(blob, variant):
    from export.model_manifest import build_manifest
    from keras_depth.spec import DepthSpec

    return build_manifest(f"model_{variant}.tflite", blob, variant, DepthSpec(min_depth=0.01, max_depth=1.0), "cd" * 32)


def test_embedded_manifest_round_trip_and_model_unchanged(toys):
    from keras_depth.runtime.tflite import load_interpreter

    _, blob = toys["int8_ptq"]
    m = _manifest_for(blob, "int8_ptq")
    assert embedded_manifest_text(blob) is None
    with_meta = embed_manifest(blob, m)
    assert read_embedded_manifest(with_meta) == m
    again = embed_manifest(with_meta, m)  # replaces, does not pile up
    assert len(again) == len(with_meta)
    assert json.loads(embedded_manifest_text(again)) == m.to_dict()
    outs = []
    for b in (blob, with_meta):
        it = load_interpreter(b, num_threads=1)
        d = it.get_input_details()[0]
        it.set_tensor(d["index"], np.arange(np.prod(d["shape"])).reshape(d["shape"]).astype(d["dtype"]) % 251)
        it.invoke()
        outs.append(it.get_tensor(it.get_output_details()[0]["index"]))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert METADATA_NAME == "keras_depth_manifest"


def test_write_tflite_json_and_embedded_agree_and_fallback(tmp_path, toys):
    from export.variants import write_tflite

    _, blob = toys["float32"]
    m = _manifest_for(blob, "float32")
    path = tmp_path / "model_float32.tflite"
    write_tflite(path, blob, m)
    assert read_manifest(path) == read_embedded_manifest(path) == m
    path.with_suffix(".json").unlink()
    assert read_manifest(path) == m  # no JSON beside it: the embedded copy


def test_evaluate_through_manifest_equals_in_memory(tmp_path, toys):
    from export.variants import write_tflite
    from keras_depth.config import load_config
    from keras_depth.evaluation.eval_sets import EvalSet
    from keras_depth.evaluation.predictors import keras_predictor
    from keras_depth.evaluation.protocol import evaluate_predictors
    from keras_depth.evaluation.run import evaluate_run
    from keras_depth.evaluation.variant_id import VariantId
    from keras_depth.runtime.tflite import TFLiteDepthEstimator
    from keras_depth.spec import DepthSpec

    config = load_config(None, [f"output_dir={tmp_path}", "model.spec={kind: depth, semantics: metric, min_depth: 0.01, max_depth: 1.0}",
                                "eval.alignment=median", "eval.figure_samples=1"])
    rng = np.random.default_rng(3)
    data = EvalSet(rng.integers(0, 256, (3, 24, 32, 3), dtype=np.uint8), rng.uniform(0.2, 0.9, (3, 24, 32)).astype(np.float32),
                   (rng.random((3, 24, 32)) > 0.1).astype(np.float32), "random (3 images)")
    paths, in_memory = [], {}
    for v, (model, blob) in toys.items():
        m = _manifest_for(blob, v)
        write_tflite(tmp_path / f"model_{v}.tflite", blob, m)
        paths.append(tmp_path / f"model_{v}.tflite")
        in_memory[VariantId("tflite", v, str(paths[-1]))] = TFLiteDepthEstimator(blob, manifest=m).predict_depth
    before = {p: (p.read_bytes(), p.with_suffix(".json").read_bytes()) for p in paths}
    _, on_disk = evaluate_run(config, None, paths, baseline=False, data=data, out_dir=tmp_path / "report", log=lambda s: None)
    mem = evaluate_predictors(in_memory, data, config)
    assert set(on_disk) == set(in_memory)
    for vid in in_memory:
        for k in ("abs_rel", "rmse", "delta1", "rmse_log"):
            assert on_disk[vid][k] == mem[vid]["metrics"][k], (vid, k)
    keras_id = VariantId("keras", "float")
    keras_m = evaluate_predictors({keras_id: keras_predictor(toys["float32"][0], DepthSpec(min_depth=0.01, max_depth=1.0))}, data, config)
    assert keras_m[keras_id]["metrics"]["abs_rel"] == pytest.approx(on_disk[VariantId("tflite", "float32", str(paths[0]))]["abs_rel"], rel=1e-5)
    # an evaluation only reads what it scores: every model file and manifest is byte for byte as before
    for p in paths:
        assert (p.read_bytes(), p.with_suffix(".json").read_bytes()) == before[p]
        assert "eval" not in read_manifest(p).metrics
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["protocol"]["alignment"] == "median"
    for f in ("report.md", "figure.png", "bars.png", "error_hist.png", "scatter.png"):
        assert (tmp_path / "report" / f).is_file(), f


@pytest.mark.parametrize("via", ["tflite_paths", "models"])
def test_two_files_of_one_variant_are_two_results(tmp_path, toys, via):
    """Two .tflite files of the same variant (two runs' int8_ptq, say) are two rows of the report, not
    one overwriting the other: results are keyed by the file, and the labels name it where they clash."""
    from export.variants import write_tflite
    from keras_depth.config import load_config
    from keras_depth.evaluation.eval_sets import EvalSet
    from keras_depth.evaluation.run import evaluate_run
    from keras_depth.evaluation.variant_id import VariantId

    config = load_config(None, [f"output_dir={tmp_path}", "model.spec={kind: depth, semantics: metric, min_depth: 0.01, max_depth: 1.0}",
                                "eval.figure_samples=1"])
    rng = np.random.default_rng(4)
    data = EvalSet(rng.integers(0, 256, (2, 12, 16, 3), dtype=np.uint8), rng.uniform(0.2, 0.9, (2, 12, 16)).astype(np.float32),
                   np.ones((2, 12, 16), np.float32), "random (2 images)")
    _, blob = toys["int8_ptq"]
    paths = []
    for run in ("run_a", "run_b"):
        (tmp_path / run).mkdir()
        path = tmp_path / run / "model_int8_ptq.tflite"
        write_tflite(path, blob, _manifest_for(blob, "int8_ptq"))
        paths.append(path)
    # `keras-depth evaluate --tflite A --tflite B` passes them as tflite_paths; `PATH=MANIFEST` ones as models
    kw = {"tflite_paths": paths} if via == "tflite_paths" else {"models": [str(p) for p in paths]}
    _, metrics = evaluate_run(config, None, baseline=False, data=data, out_dir=tmp_path / "report",
                              log=lambda s: None, **kw)
    assert set(metrics) == {VariantId("tflite", "int8_ptq", str(p)) for p in paths}
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert sorted(report["results"]) == sorted(f"tflite int8_ptq ({p})" for p in paths)
    assert sorted(r["id"]["path"] for r in report["results"].values()) == sorted(str(p) for p in paths)
    md = (tmp_path / "report" / "report.md").read_text()
    assert all(f"| tflite int8_ptq ({p}) |" in md for p in paths)


def test_one_decoding_for_spec_and_manifest(toys):
    """DepthSpec.output_to_depth and the manifest runtime decode through keras_depth.spec.decode_output:
    disparity is clipped to its range, then inverted; depth passes unchanged."""
    from keras_depth.runtime.tflite import TFLiteDepthEstimator
    from keras_depth.spec import DepthSpec, decode_output

    y = np.array([[0.05, 0.1, 0.5, 4.0, 6.0]], np.float32)
    spec = DepthSpec(kind="disparity", semantics="relative", min_depth=0.25, max_depth=10.0)
    np.testing.assert_array_equal(spec.output_to_depth(y), 1.0 / np.clip(y, 0.1, 4.0))
    np.testing.assert_array_equal(decode_output("depth", (0.25, 10.0), y), y)
    _, blob = toys["float32"]
    m = _manifest_for(blob, "float32")
    m.output.kind, m.output.range = "disparity", [0.1, 4.0]
    est = TFLiteDepthEstimator(blob, manifest=m)
    np.testing.assert_array_equal(est.output_to_depth(y), spec.output_to_depth(y))
