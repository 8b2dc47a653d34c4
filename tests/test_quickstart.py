"""End to end: `keras-depth quickstart` on the tiny local config, then its outputs, checked."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from keras_depth.cli import main
from keras_depth.kerasapi import keras

pytestmark = pytest.mark.slow  # every test here runs the quickstart pipeline or trains

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "keras_depth" / "configs" / "quickstart_local.yaml"
VARIANTS = ("float32", "int8_ptq", "int8_qat")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("quickstart")
    # The training camera of quickstart.yaml, so the AR step films its path with it.
    code = main(["quickstart", str(LOCAL), "--output-dir", str(out / "run"),
                 "--set", f"data.cache_dir={out / 'cache'}",
                 "--set", "data.train=[{type: synthetic, split: train, count: 48, height: 64, width: 64, "
                          "fov_deg: [60, 60], camera_height: [1.3, 1.5], pitch_deg: [-30, -10]}]"])
    assert code == 0
    return out / "run"


def test_report_has_every_variant_with_finite_metrics(run_dir):
    report = json.loads((run_dir / "report" / "report.json").read_text())
    names = set(report["results"])
    assert {"baseline (constant median)", "keras float"} <= names
    assert {f"tflite {v}" for v in VARIANTS} <= names
    for name, m in report["results"].items():
        for k in ("abs_rel", "rmse", "delta1", "delta2", "delta3"):
            assert np.isfinite(m[k]), (name, k)
        assert 0.0 <= m["delta1"] <= m["delta2"] <= m["delta3"] <= 1.0
    assert report["protocol"]["alignment"] == "none"
    md = (run_dir / "report" / "report.md").read_text()
    assert "| tflite int8_qat |" in md and "alignment=none" in md
    png = (run_dir / "report" / "figure.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_ar_demo_output(run_dir):
    """The quickstart's last output: the int8 QAT model hides a virtual cube on a synthetic path."""
    import cv2

    res = json.loads((run_dir / "ar" / "synthetic.json").read_text())
    assert Path(res["model"]).name == "model_int8_qat.tflite" and res["trajectory"]["count"] == 24
    cap = cv2.VideoCapture(str(run_dir / "ar" / "synthetic.mp4"))
    ok, frame = cap.read()
    # Filmed with the training camera at the training aspect (64x64: square): four 240x240 panels.
    assert res["trajectory"]["camera"] == {"fov_deg": [60.0, 60.0], "height_m": [1.3, 1.5], "pitch_deg": [-30.0, -10.0]}
    assert res["trajectory"]["hfov_deg"] == pytest.approx(60.0)
    assert ok and frame.shape == (240, 4 * 240, 3)
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 24
    assert [Path(p).name for p in res["pngs"]] == [f"synthetic_{i:05d}.png" for i in (0, 8, 16)]
    assert all(Path(p).is_file() for p in res["pngs"])
    for mode in ("raw", "anchored", "oracle", "baseline_all_visible"):
        assert 0.0 <= res[mode]["iou"] <= 1.0, mode
    assert res["visible_true_pixels"] > 0


def test_tflite_float32_matches_keras_float_metrics(run_dir):
    r = json.loads((run_dir / "report" / "report.json").read_text())["results"]
    for k in ("abs_rel", "rmse", "delta1"):
        assert abs(r["tflite float32"][k] - r["keras float"][k]) < 1e-4


def test_qat_tflite_convolutions_are_int8(run_dir):
    from keras_depth.runtime.tflite import load_interpreter

    it = load_interpreter(run_dir / "model_int8_qat.tflite", delegates=False)
    dtypes = {t["index"]: np.dtype(t["dtype"]).name for t in it.get_tensor_details()}
    convs = [op for op in it._get_ops_details() if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert len(convs) > 10
    for op in convs:
        act, weights = op["inputs"][0], op["inputs"][1]
        assert dtypes[act] == "int8" and dtypes[weights] == "int8" and dtypes[op["outputs"][0]] == "int8", op
    ops = {op["op_name"] for op in it._get_ops_details()}
    assert not any(o.startswith("Flex") or o == "CUSTOM" for o in ops), ops
    inp = it.get_input_details()[0]
    assert np.dtype(inp["dtype"]).name == "uint8"
    scale, zero = inp["quantization"]
    assert abs(scale - 1 / 255) < 1e-4 and zero == 0, "raw camera bytes must feed the model unchanged"


def test_manifests_validate_and_record_parity(run_dir):
    from keras_depth.runtime.manifest import read_manifest

    for v in VARIANTS:
        m = read_manifest(run_dir / f"model_{v}.tflite")
        assert m.variant == v and m.model_file == f"model_{v}.tflite"
        assert m.output.kind == "depth" and m.output.units == "m" and m.output.range == [0.25, 10.0]
        assert m.metrics["parity"]["ok"] is True
        assert (m.input.dtype == "float32") == (v == "float32")
        assert len(m.training_config_sha256) == 64


def test_saved_models_reload_with_the_outputs_the_run_measured(run_dir):
    """The reloaded float model re-scores the held-out set exactly as the in-memory model did during
    the run (report.json); the reloaded QAT model agrees with the int8 QAT TFLite that was converted
    from the in-memory QAT model to within two output quantization steps on almost every pixel."""
    from keras_depth.config import load_config
    from keras_depth.evaluation.eval_sets import load_eval_set
    from keras_depth.evaluation.predictors import keras_predictor
    from keras_depth.evaluation.protocol import evaluate_predictors
    from keras_depth.evaluation.variant_id import VariantId
    from keras_depth.models.io import load_qat_model, load_trained_model
    from keras_depth.runtime.tflite import TFLiteDepthEstimator
    from keras_depth.spec import DepthSpec

    config = load_config(LOCAL, [f"output_dir={run_dir}", f"data.cache_dir={run_dir.parent / 'cache'}"])
    data = load_eval_set(config, "val")
    spec = DepthSpec.from_dict(config.model.spec)
    f = load_trained_model(run_dir / "model.keras")
    vid = VariantId("keras", "float")
    again = evaluate_predictors({vid: keras_predictor(f, spec)}, data, config)[vid]["metrics"]
    recorded = json.loads((run_dir / "report" / "report.json").read_text())["results"]["keras float"]
    for k in ("abs_rel", "rmse", "delta1"):
        assert again[k] == pytest.approx(recorded[k], rel=1e-5, abs=1e-7), k

    q = load_qat_model(run_dir / "model_qat.h5")
    with TFLiteDepthEstimator(run_dir / "model_int8_qat.tflite") as est:
        step = est.manifest.output.quantization.scale
        for img in data.images[:4]:
            x = img.astype(np.float32)[None] / 255.0
            keras_out = q(x).numpy()[0, ..., 0]
            tflite_out = est.run_tensor(est.preprocess(img))
            assert keras_out.shape == tflite_out.shape == (64, 64)
            close = np.abs(keras_out - tflite_out) <= 2 * step + 1e-6
            assert close.mean() >= 0.99, (close.mean(), step)


def test_resolved_config_and_tensorboard_images_are_saved(run_dir):
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["name"] == "quickstart_local" and cfg["output_dir"] == str(run_dir)
    assert (run_dir / "model.keras").is_file() and (run_dir / "model_qat.h5").is_file()
    assert list((run_dir / "logs" / "images").glob("events.out.tfevents*"))
    meta = json.loads((run_dir / "model_meta.json").read_text())
    assert meta["input"]["height"] == 64 and meta["spec"]["kind"] == "depth"


class StopAfterFirstEpoch(keras.callbacks.Callback):
    """Interrupts training as a Ctrl-C after epoch 1 would (BackupAndRestore has saved it)."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise KeyboardInterrupt


# The resume tests check BackupAndRestore and the config guard, which do not depend on the model or the
# image size: the quickstart pipeline with the tiny_unet preset at 32x32 (about a quarter of their time).
SMALL = ["model.name=tiny_unet", "model.params={}", "data.image_size=[32, 32]",
         "data.train=[{type: synthetic, split: train, count: 16, height: 32, width: 32}]",
         "data.val=[{type: synthetic, split: val, count: 8, height: 32, width: 32}]"]


class RecordEpochs(keras.callbacks.Callback):
    def __init__(self, epochs: list):
        super().__init__()
        self.epochs = epochs

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_training_resumes_after_interruption_only_with_its_config(tmp_path):
    """BackupAndRestore: a run stopped after epoch 1 of 2 resumes at epoch 2 when re-run, and its
    history.json then holds both epochs. The backup is only resumed by the same config: after a change
    (here epochs, so a different LR schedule) the re-run stops with a UsageError naming the key, display
    settings may differ, and --no-resume starts over. One interrupted run serves every check (they were
    two tests, each interrupting a run of its own)."""
    import shutil

    from keras_depth.config import load_config
    from keras_depth.errors import UsageError
    from keras_depth.training.trainer import train

    base = [f"output_dir={tmp_path / 'run'}", f"data.cache_dir={tmp_path / 'cache'}", "train.steps_per_epoch=2", *SMALL]
    cfg = load_config(LOCAL, base + ["train.epochs=2", "train.tensorboard_images=1"])

    with pytest.raises(KeyboardInterrupt):
        train(cfg, extra_callbacks=[StopAfterFirstEpoch()])
    backup = tmp_path / "run" / "backup"
    assert backup.is_dir()
    first = json.loads((backup / "history.json").read_text())
    assert len(first["loss"]) == 1
    shutil.copytree(backup, tmp_path / "backup_copy")

    changed = load_config(LOCAL, base + ["train.epochs=3", "train.verbose=0"])
    with pytest.raises(UsageError, match=r"different config \(train\.epochs\); .*--no-resume"):
        train(changed)

    # only display settings differ (verbose, image summaries): the same run resumes at its second epoch
    epochs_run = []
    same = load_config(LOCAL, base + ["train.epochs=2", "train.verbose=0", "train.tensorboard_images=2"])
    result = train(same, extra_callbacks=[RecordEpochs(epochs_run)])
    assert epochs_run == [1], "the second run must start at the second epoch"
    # history.json holds the epoch of the interrupted run too, as that run logged it
    assert len(result.history["loss"]) == 2 and result.history["loss"][0] == first["loss"][0]
    saved = json.loads((tmp_path / "run" / "history.json").read_text())
    assert saved == result.history and len(saved["val_loss"]) == 2
    assert not backup.exists(), "the backup checkpoint is removed once training completes"

    shutil.copytree(tmp_path / "backup_copy", backup)  # the interrupted run's backup again
    epochs_run.clear()
    train(changed, resume=False, extra_callbacks=[RecordEpochs(epochs_run)])
    assert epochs_run == [0, 1, 2]


def test_verdict_targets():
    from keras_depth.cli.quickstart import verdict
    from keras_depth.evaluation.run import BASELINE, KERAS_FLOAT
    from keras_depth.evaluation.variant_id import VariantId

    def m(abs_rel, delta1):
        return {"abs_rel": abs_rel, "delta1": delta1}

    qat = VariantId("tflite", "int8_qat", "run/model_int8_qat.tflite")
    ptq = VariantId("tflite", "int8_ptq", "run/model_int8_ptq.tflite")
    base = m(0.44, 0.35)
    ok = verdict({BASELINE: base, KERAS_FLOAT: m(0.22, 0.60), qat: m(0.23, 0.591)})
    assert [met for _, met in ok] == [True, True]
    # Just over half the baseline; QAT 1.1 points below float.
    bad = verdict({BASELINE: base, KERAS_FLOAT: m(0.2201, 0.60), qat: m(0.22, 0.589)})
    assert [met for _, met in bad] == [False, False]
    # QAT above float is not a quantization failure.
    above = verdict({BASELINE: base, KERAS_FLOAT: m(0.2, 0.60), qat: m(0.2, 0.65)})
    assert [met for _, met in above] == [True, True]
    assert len(verdict({BASELINE: base, KERAS_FLOAT: m(0.2, 0.6)})) == 1
    # another int8 variant is not the QAT one
    assert len(verdict({BASELINE: base, KERAS_FLOAT: m(0.2, 0.6), ptq: m(0.9, 0.1)})) == 1
