"""The bad-input catalogue of issue 15: one parametrized test over ``CASES``, each a ``keras-depth ...``
command line, judged by the same rules:

- bad usage or input: exit 2 and ONE ``error:`` line that names the flag, key or file;
- a bad sample where skipping is the contract: exit 0, a summary line counting the skips;
- an internal failure: exit 1, one line with the path of the log holding the traceback;
- no traceback unless ``--debug``; never exit 0 with a wrong result (``check`` looks at the outputs).

TensorFlow's C++ start-up lines (printed before any Python runs, whatever TF_CPP_MIN_LOG_LEVEL says)
and the TFLite runtime's one note when it creates its CPU delegate are native libraries' lines, not
the program's output: they are left out before the rules are applied (``own_lines``).

How a case runs (``_run``): most call the CLI's entry point, ``keras_depth.cli.main(argv)`` (what
``python -m keras_depth.cli`` calls), in the test process, with stderr captured at the file-descriptor
level (so native libraries' lines are seen too), the working folder and environment of a subprocess,
Python's logging as a fresh process has it (no root handler: warnings reach stderr through the
last-resort handler, as the readers' skip warnings do for a user), and the readers' skip log and Keras'
session cleared before and after; this saves a TensorFlow import (4-8 s on a loaded 2-core machine) per
case. The cases that need a process of their own stay real ``python -m keras_depth.cli ...``
subprocesses (``own_process``): SIGINT, a file-size limit and a read-only mount act on a whole process,
and FFmpeg's log level (the video cases) is fixed once per process.

When every case has run (``make test``; the slow ones are left out of ``make test-fast``), the
session writes ``docs/reliability.md`` from this table and the results: never typed by hand.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import pytest

import bad_input_fixtures  # tests/ is on sys.path under pytest's default import mode

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"

CATEGORIES = {
    "values": "flags, keys, value types and out-of-range numbers",
    "configs": "missing, empty, non-YAML and binary configs",
    "models": "model files: missing, truncated, wrong kind, wrong shape",
    "manifests": "a manifest that disagrees with its model; evaluation never writes its inputs",
    "unsafe": "model files holding code (a Lambda layer): refused unless --unsafe",
    "data": "corrupt, 0-byte, wrong-shape images and depth maps, NaN/Inf depth, no labels",
    "video": "undecodable, empty or missing video",
    "output": "unwritable output folder, full disk",
    "interrupt": "SIGINT",
}
VERDICTS = {
    "usage": "exit 2, one error line naming the flag, key or file",
    "skipped": "exit 0, bad samples counted and skipped with a summary line, right result",
    "ok": "exit 0 with the right result",
    "interrupted": "exit 130, the checkpoint usable",
}
# The figures for about 100 bad inputs before this catalogue existed.
BEFORE = [
    ("clean exit 2 with one error line", "about 50"),
    ("bad data counted and skipped", "10"),
    ("Python traceback, exit 1", "about 33"),
    ("exit 0 with a wrong or meaningless result", "about 8"),
    ("hang (killed at the timeout)", "2"),
]


@dataclasses.dataclass
class Case:
    id: str
    category: str
    args: list  # CLI arguments; "{name}" is a fixture path (tests/bad_input_fixtures.py)
    verdict: str
    names: str = ""  # what the error line must name (a flag, key or file; "{name}" allowed)
    slow: bool = False  # needs TensorFlow to train or convert: left out of make test-fast
    check: Optional[Callable] = None  # check(fixtures, result) -> None: the outputs are right
    limit_fsize: Optional[int] = None  # RLIMIT_FSIZE in bytes (a full disk), SIGXFSZ ignored
    readonly: bool = False  # {readonly} is a read-only folder for this run
    sigint_after: Optional[str] = None  # send SIGINT once this fixture-relative path exists
    before: str = ""  # what it did before issue 15, where the issue says


def _c(*args, **kw) -> Case:
    return Case(*args, **kw)


OK = ["{ok}"]
MODEL_ARGS = ["--model", "{tflite}", "--input", "{frames}", "--out", "{root}/demo.mp4", "--no-progress"]

CASES: list[Case] = [
    # --- flags, keys, value types, out-of-range numbers
    _c("epochs-zero", "values", ["train", *OK, "--set", "train.epochs=0"], "usage", "train.epochs", before="traceback"),
    _c("epochs-negative", "values", ["train", *OK, "--set", "train.epochs=-2"], "usage", "train.epochs", before="traceback"),
    _c("epochs-not-int", "values", ["train", *OK, "--set", "train.epochs=two"], "usage", "train.epochs"),
    _c("qat-steps-zero", "values", ["qat", *OK, "--set", "qat.steps_per_epoch=0"], "usage", "qat.steps_per_epoch", before="traceback"),
    _c("batch-size-zero", "values", ["train", *OK, "--set", "data.batch_size=0"], "usage", "data.batch_size", before="traceback"),
    _c("learning-rate-negative", "values", ["train", *OK, "--set", "train.learning_rate=-0.001"], "usage",
       "train.learning_rate", before="exit 0, trained"),
    _c("learning-rate-nan", "values", ["train", *OK, "--set", "train.learning_rate=.nan"], "usage", "train.learning_rate"),
    _c("steps-per-epoch-negative", "values", ["train", *OK, "--set", "train.steps_per_epoch=-1"], "usage",
       "train.steps_per_epoch", before="hang"),
    _c("precision-unknown", "values", ["train", *OK, "--set", "train.precision=bfloat16"], "usage", "train.precision"),
    _c("precision-conflicts-mixed-precision", "values",
       ["train", *OK, "--set", "train.precision=mixed_bfloat16", "--set", "train.mixed_precision=true"], "usage",
       "train.mixed_precision"),
    _c("steps-per-execution-zero", "values", ["train", *OK, "--set", "train.steps_per_execution=0"], "usage",
       "train.steps_per_execution"),
    _c("jit-compile-not-bool", "values", ["train", *OK, "--set", "train.jit_compile=xla"], "usage", "train.jit_compile"),
    _c("image-size-zero", "values", ["train", *OK, "--set", "data.image_size=[0,32]"], "usage", "data.image_size[0]"),
    _c("image-size-one-number", "values", ["export", *OK, "--set", "data.image_size=[32]"], "usage", "data.image_size"),
    _c("unknown-key", "values", ["train", *OK, "--set", "train.epoch=3"], "usage", "train.epoch"),
    _c("set-without-value", "values", ["train", *OK, "--set", "train.epochs"], "usage", "train.epochs"),
    _c("seed-negative", "values", ["quickstart", *OK, "--set", "seed=-1"], "usage", "seed"),
    _c("eval-cap-negative", "values", ["evaluate", *OK, "--set", "eval.max_depth=-1"], "usage", "eval.max_depth"),
    _c("parity-samples-zero", "values", ["export", *OK, "--set", "export.parity_samples=0"], "usage", "export.parity_samples"),
    _c("distill-holdout-one", "values", ["distill", *OK, "--set", "distill.holdout=1"], "usage", "distill.holdout"),
    _c("models-size-negative", "values", ["models", "--size", "-3", "--quick", "--out", ""], "usage", "--size", before="traceback"),
    _c("models-size-zero", "values", ["models", "--size", "0", "--quick", "--out", ""], "usage", "--size", before="traceback"),
    _c("resolutions-0x0", "values", ["benchmark", *OK, "--resolutions", "0x0"], "usage", "--resolutions", before="traceback"),
    _c("threads-two", "values", ["benchmark", *OK, "--threads", "two"], "usage", "--threads", before="traceback"),
    _c("limit-zero", "values", ["evaluate", *OK, "--limit", "0"], "usage", "--limit", before="exit 0, accepted"),
    _c("limit-negative", "values", ["evaluate", *OK, "--limit", "-3"], "usage", "--limit", before="exit 0, accepted"),
    _c("demo-max-frames-zero", "values", ["demo", *MODEL_ARGS, "--max-frames", "0"], "usage", "--max-frames"),
    _c("demo-png-every-negative", "values", ["demo", *MODEL_ARGS, "--png-every", "-1"], "usage", "--png-every"),
    _c("ar-eval-count-zero", "values", ["ar-eval", "--model", "{tflite}", "--count", "0"], "usage", "--count"),
    _c("temporal-frames-negative", "values", ["temporal", *OK, "--frames", "-1"], "usage", "--frames"),
    _c("distill-every-zero", "values", ["distill", *OK, "--every", "0", "--frames", "{frames}"], "usage", "--every"),
    _c("distill-unknown-stage", "values", ["distill", *OK, "--stages", "label,fly"], "usage", "--stages"),
    _c("pack-shards-zero", "values", ["data", "pack", "--dataset", "folder_pairs", "--path", "{good}", "--out", "{root}/p",
                                      "--shards", "0"], "usage", "--shards"),
    _c("unknown-flag", "values", ["train", *OK, "--epochs", "3"], "usage", "--epochs"),
    _c("unknown-command", "values", ["trian", *OK], "usage", "trian"),
    _c("fixtures-no-model", "values", ["fixtures", "{root}/fx"], "usage", "--tiny"),
    # --- configs
    _c("config-missing", "configs", ["train", "{root}/missing.yaml"], "usage", "{root}/missing.yaml"),
    _c("config-empty", "configs", ["train", "{empty_yaml}"], "usage", "{empty_yaml}", before="trained the defaults"),
    _c("config-binary", "configs", ["train", "{binary_yaml}"], "usage", "{binary_yaml}", before="traceback"),
    _c("config-not-yaml", "configs", ["qat", "{notyaml_yaml}"], "usage", "{notyaml_yaml}"),
    _c("config-a-list", "configs", ["export", "{list_yaml}"], "usage", "{list_yaml}"),
    _c("config-a-folder", "configs", ["evaluate", "{folder_yaml}"], "usage", "{folder_yaml}"),
    _c("config-binary-quickstart", "configs", ["quickstart", "{binary_yaml}"], "usage", "{binary_yaml}"),
    _c("config-empty-distill", "configs", ["distill", "{empty_yaml}"], "usage", "{empty_yaml}"),
    _c("config-missing-benchmark", "configs", ["benchmark", "{root}/nope.yaml"], "usage", "{root}/nope.yaml"),
    _c("config-not-yaml-pack", "configs", ["data", "pack", "{notyaml_yaml}", "--out", "{root}/p"], "usage", "{notyaml_yaml}"),
    # --- model files
    _c("keras-missing", "models", ["evaluate", *OK, "--model", "{root}/missing.keras"], "usage", "{root}/missing.keras"),
    _c("keras-empty", "models", ["evaluate", *OK, "--model", "{empty_keras}"], "usage", "{empty_keras}", before="traceback"),
    _c("keras-truncated", "models", ["evaluate", *OK, "--model", "{truncated_keras}"], "usage", "{truncated_keras}", before="traceback"),
    _c("keras-random-bytes", "models", ["qat", *OK, "--model", "{random_keras}"], "usage", "{random_keras}", before="traceback"),
    _c("h5-truncated", "models", ["export", *OK, "--model", "{truncated_h5}"], "usage", "{truncated_h5}"),
    _c("h5-weights-only", "models", ["qat", *OK, "--model", "{weights_only_h5}"], "usage", "{weights_only_h5}"),
    _c("tflite-missing", "models", ["evaluate", *OK, "--tflite", "{root}/missing.tflite"], "usage", "{root}/missing.tflite"),
    _c("tflite-random-bytes", "models", ["evaluate", *OK, "--tflite", "{random_tflite}={manifest}"], "usage", "{random_tflite}"),
    _c("tflite-classifier", "models", ["evaluate", *OK, "--tflite", "{classifier_tflite}={manifest}"], "usage",
       "{classifier_tflite}", before="exit 0, scored"),
    _c("tflite-classifier-demo", "models", ["demo", "--model", "{classifier_tflite}", "--input", "{frames}", "--out",
                                            "{root}/d.mp4"], "usage", "{classifier_tflite}"),
    _c("ar-eval-random-tflite", "models", ["ar-eval", "--model", "{random_tflite}"], "usage", "{random_tflite}"),
    _c("keras-classifier", "models", ["evaluate", *OK, "--model", "{classifier_keras}"], "usage", "{classifier_keras}", slow=True),
    _c("keras-half-resolution", "models", ["evaluate", *OK, "--model", "{half_keras}"], "usage", "{half_keras}",
       slow=True, before="exit 0, scored"),
    # --- manifests
    _c("tflite-half-resolution", "manifests", ["evaluate", *OK, "--tflite", "{half_tflite}"], "usage", "{half_tflite}",
       before="exit 0, scored"),
    _c("manifest-of-another-model", "manifests", ["evaluate", *OK, "--tflite", "{other_tflite}"], "usage", "{other_tflite}",
       before="exit 0, scored"),
    _c("manifest-given-of-another-model", "manifests", ["evaluate", *OK, "--tflite", "{tflite}={other_json}"], "usage", "{tflite}"),
    _c("manifest-of-another-model-demo", "manifests", ["demo", "--model", "{other_tflite}", "--input", "{frames}", "--out",
                                                       "{root}/d.mp4"], "usage", "{other_tflite}"),
    _c("model-meta-of-another-model", "manifests", ["evaluate", *OK, "--model", "{meta_keras}"], "usage", "model_meta.json", slow=True),
    _c("evaluate-leaves-inputs-unchanged", "manifests", ["evaluate", *OK, "--tflite", "{tflite}", "--out", "{root}/report"],
       "ok", before="rewrote the manifest inside the .tflite"),
    # --- unsafe model files
    _c("lambda-keras-evaluate", "unsafe", ["evaluate", *OK, "--model", "{lambda_keras}"], "usage", "{lambda_keras}", before="traceback"),
    _c("lambda-h5-evaluate", "unsafe", ["evaluate", *OK, "--model", "{lambda_h5}"], "usage", "{lambda_h5}",
       before="exit 0: loaded and ran the Lambda"),
    _c("lambda-h5-qat", "unsafe", ["qat", *OK, "--model", "{lambda_h5}"], "usage", "{lambda_h5}"),
    _c("lambda-keras-export", "unsafe", ["export", *OK, "--model", "{lambda_keras}"], "usage", "{lambda_keras}"),
    _c("lambda-keras-teacher", "unsafe", ["distill", *OK, "--teacher", "{lambda_keras}", "--semantics", "metric", "--frames",
                                          "{frames}", "--stages", "label"], "usage", "{lambda_keras}", slow=True),
    _c("lambda-h5-unsafe-opt-in", "unsafe", ["evaluate", *OK, "--model", "{lambda_h5}", "--unsafe", "--out", "{root}/unsafe"],
       "ok", slow=True),
    # --- data
    _c("skip-every-bad-kind", "data", ["data", "pack", "--dataset", "folder_pairs", "--path", "{mixed}", "--out", "{root}/mixed",
                                       "--shards", "1"], "skipped"),
    _c("strict-corrupt-image", "data", ["data", "pack", "--dataset", "folder_pairs", "--path", "{corrupt_rgb}", "--out",
                                        "{root}/s1", "--shards", "1", "--strict"], "usage", "{corrupt_rgb}/rgb/bad.png"),
    _c("strict-zero-byte-image", "data", ["data", "pack", "--dataset", "folder_pairs", "--path", "{zero_byte_rgb}", "--out",
                                          "{root}/s2", "--shards", "1", "--strict"], "usage", "{zero_byte_rgb}/rgb/bad.png", slow=True),
    _c("strict-corrupt-depth", "data", ["data", "pack", "--dataset", "folder_pairs", "--path", "{corrupt_depth}", "--out",
                                        "{root}/s3", "--shards", "1", "--strict"], "usage", "{corrupt_depth}/depth/bad.png", slow=True),
    _c("strict-wrong-shape-depth", "data", ["data", "pack", "--dataset", "folder_pairs", "--path", "{wrong_shape_depth}",
                                            "--out", "{root}/s4", "--shards", "1", "--strict"], "usage", "bad.png", slow=True),
    _c("strict-nan-depth", "data", ["data", "pack", "--dataset", "folder_pairs", "--path", "{nan_depth}", "--out", "{root}/s5",
                                    "--shards", "1", "--strict"], "usage", "{nan_depth}/rgb/bad.png", slow=True),
    _c("strict-inf-depth", "data", ["data", "pack", "--dataset", "folder_pairs", "--path", "{inf_depth}", "--out", "{root}/s6",
                                    "--shards", "1", "--strict"], "usage", "{inf_depth}/rgb/bad.png", slow=True),
    _c("train-no-labels", "data", ["train", *OK, "--set", "data.train=[{type: folder_pairs, path: {nolabel}}]", "--output-dir",
                                   "{root}/t1"], "usage", "data.train[0]", before="exit 0: loss 0, NaN metrics, model written"),
    _c("train-strict-all-bad", "data", ["train", *OK, "--set", "data.strict=true", "--set",
                                        "data.train=[{type: folder_pairs, path: {allbad}}]", "--output-dir", "{root}/t2"],
       "usage", "{allbad}/rgb/000.png", slow=True, before="hang"),
    _c("train-all-bad", "data", ["train", *OK, "--set", "data.train=[{type: folder_pairs, path: {allbad}}]", "--output-dir",
                                 "{root}/t3"], "usage", "data.train[0]", slow=True),
    _c("train-metric-on-relative", "data", ["train", *OK, "--set", "data.train=[{type: folder_pairs, path: {good}, semantics: relative}]",
                                            "--output-dir", "{root}/t4"], "usage", "data.train[0]", slow=True,
       before="exit 0: L1 on relative depth"),
    # --- video
    _c("video-corrupt", "video", ["demo", "--model", "{tflite}", "--input", "{corrupt_mp4}", "--out", "{root}/v.mp4"], "usage",
       "{corrupt_mp4}"),
    _c("video-empty", "video", ["demo", "--model", "{tflite}", "--input", "{empty_mp4}", "--out", "{root}/v.mp4"], "usage",
       "{empty_mp4}"),
    _c("video-missing", "video", ["demo", "--model", "{tflite}", "--input", "{root}/missing.mp4", "--out", "{root}/v.mp4"],
       "usage", "{root}/missing.mp4"),
    _c("video-corrupt-temporal", "video", ["temporal", *OK, "--tflite", "{tflite}", "--input", "{corrupt_mp4}", "--out",
                                           "{root}/tmp_t"], "usage", "{corrupt_mp4}"),
    # --- output
    _c("readonly-ar-eval", "output", ["ar-eval", "--model", "{tflite}", "--count", "2", "--out", "{readonly}/sub/ar.mp4"], "usage",
       "{readonly}", readonly=True),
    _c("full-disk-ar-eval", "output", ["ar-eval", "--model", "{tflite}", "--count", "6", "--out", "{root}/full/ar.mp4"], "usage",
       "{root}/full/ar.mp4", limit_fsize=2048),
    _c("readonly-train", "output", ["train", *OK, "--output-dir", "{readonly}/run"], "usage", "{readonly}", readonly=True,
       slow=True, before="traceback (OSError: [Errno 30])"),
    _c("full-disk-train", "output", ["train", *OK, "--output-dir", "{root}/full_train"], "usage", "{root}/full_train",
       limit_fsize=4096, slow=True, before="traceback (ResourceExhaustedError from SaveV2)"),
    _c("full-disk-export", "output", ["export", *OK, "--out", "{root}/full_export"], "usage", "{root}/full_export",
       limit_fsize=4096, slow=True),
    # --- predict (issue 25)
    _c("predict-model-missing", "models", ["predict", "{frames}", "--model", "{root}/missing.tflite", "--out", "{root}/p1"],
       "usage", "{root}/missing.tflite"),
    _c("predict-unknown-model-name", "models", ["predict", "{frames}", "--model", "no_such_model", "--out", "{root}/p8"],
       "usage", "no_such_model"),
    _c("predict-classifier", "models", ["predict", "{frames}", "--model", "{classifier_tflite}", "--out", "{root}/p2"], "usage",
       "{classifier_tflite}"),
    _c("predict-corrupt-image", "data", ["predict", "{corrupt_rgb}/rgb", "--model", "{tflite}", "--out", "{root}/p3"], "skipped",
       check=lambda fx, r: _predicted(fx, r, "p3", 2)),
    _c("predict-strict-corrupt-image", "data", ["predict", "{corrupt_rgb}/rgb", "--model", "{tflite}", "--out", "{root}/p4",
                                                "--strict"], "usage", "{corrupt_rgb}/rgb/bad.png"),
    _c("predict-empty-folder", "data", ["predict", "{empty_dir}", "--model", "{tflite}", "--out", "{root}/p5"], "usage",
       "{empty_dir}"),
    _c("predict-bad-intrinsics", "values", ["predict", "{frames}", "--model", "{tflite}", "--out", "{root}/p6", "--intrinsics",
                                            "500,500,nan,240"], "usage", "--intrinsics"),
    _c("predict-ply-relative", "values", ["predict", "{frames}", "--model", "{relative_tflite}", "--out", "{root}/p7", "--save",
                                          "ply"], "usage", "--save ply"),
    # --- interrupt
    # Epochs enough that training cannot end before the interrupt, however loaded the machine.
    _c("sigint-train", "interrupt", ["train", *OK, "--set", "train.epochs=100000", "--output-dir", "{root}/sigint"], "interrupted",
       sigint_after="sigint/backup", slow=True),
]


def _checks() -> None:
    """Outputs checked beyond the exit code and the error line."""

    def inputs_unchanged(f, result):
        assert result.hashes_before == _hashes(f), "evaluate modified a file it evaluated"
        assert (f["root"] / "report" / "report.json").is_file()

    def skipped(f, result):
        import json

        index = json.loads((f["root"] / "mixed" / "index.json").read_text())
        assert index["total"] == 3, index  # the 3 good pairs, none of the 6 bad ones
        assert re.search(r"skipped \d+ bad sample\(s\) from 6 file\(s\)", result.stderr), result.stderr[-500:]

    def unsafe_ran(f, result):
        assert (f["root"] / "unsafe" / "report.json").is_file()

    def no_partial(folder: str, final: tuple):
        def check(f, result):
            d = f["root"] / folder
            left = [p for p in d.rglob("*") if p.is_file() and p.name in final] if d.exists() else []
            assert not left, f"a final file was left behind: {left}"
        return check

    def resumable(f, result):
        import tensorflow as tf

        backup = f["root"] / "sigint" / "backup"
        index = sorted(backup.rglob("*.index"))
        assert index, "no checkpoint after SIGINT"
        names = [n for n, _ in tf.train.list_variables(str(index[-1])[: -len(".index")])]
        assert any("kernel" in n for n in names), names[:10]  # the weights can be read back: resumable

    by_id = {"evaluate-leaves-inputs-unchanged": inputs_unchanged, "skip-every-bad-kind": skipped,
             "lambda-h5-unsafe-opt-in": unsafe_ran, "full-disk-ar-eval": no_partial("full", ("ar.mp4",)),
             "full-disk-train": no_partial("full_train", ("model.keras", "best.keras")),
             "full-disk-export": no_partial("full_export", ("model_float32.tflite", "model_float32.json")),
             "sigint-train": resumable}
    for case in CASES:
        if case.id in by_id:
            case.check = by_id[case.id]


_checks()


def _hashes(f: dict) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (f["tflite"], f["manifest"])}


@dataclasses.dataclass
class Result:
    command: str
    code: int
    line: str
    stderr: str
    hashes_before: dict


# Lines that are not the program's: TensorFlow's C++ logging before Python runs (absl's preamble and
# glog-format lines), and Python warnings TensorFlow and Keras print with their source line.
_SKIP = re.compile(r"^\w+: skipping ")
_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|[IWEF]\d{4} \d\d:\d\d:\d\d|WARNING:(tensorflow|absl):"
                    r"|INFO: Created TensorFlow Lite XNNPACK delegate)")


def own_lines(stderr: str, skips: bool = True) -> list[str]:
    """The program's own stderr lines; without ``skips``, also without the readers' one warning per
    skipped file (the contract of non-strict reading)."""
    lines, skip_next, in_tf_warning = [], False, False
    for line in stderr.splitlines():
        if skip_next:
            skip_next = False
            continue
        if line.startswith("error:"):
            in_tf_warning = False
        if line.startswith("WARNING:tensorflow:"):
            in_tf_warning = True  # TensorFlow's Python warnings run over several lines
        if in_tf_warning or _NOISE.match(line) or (not skips and _SKIP.match(line)):
            continue
        if re.match(r"^\S.*:\d+: \w*Warning: ", line):  # warnings.warn: the message, then its source line
            skip_next = True
            continue
        if line.strip():
            lines.append(line)
    return lines


@pytest.fixture(scope="module")
def fx(tmp_path_factory) -> dict:
    return bad_input_fixtures.build(tmp_path_factory.mktemp("catalogue"))


RESULTS: dict[str, tuple[Case, Result]] = {}


def _fill(text: str, f: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(f[m.group(1)]) if m.group(1) in f else m.group(0), text)


def own_process(case: Case) -> bool:
    """Whether ``case`` must be a real subprocess (see the module's docstring)."""
    return bool(case.sigint_after or case.limit_fsize or case.readonly or case.category == "video")


def _run(case: Case, f: dict, capfd, monkeypatch) -> Result:
    if not own_process(case):
        return _run_in_process(case, f, capfd, monkeypatch)
    args = [_fill(a, f) for a in case.args]
    env = dict(os.environ, PYTHONPATH=str(ROOT), KERAS_DEPTH_LOG_DIR=str(f["root"] / "logs"), TF_USE_LEGACY_KERAS="1")
    cmd = [sys.executable, "-m", "keras_depth.cli", *args]
    prefix: list[str] = []
    if case.readonly:
        prefix = _readonly_prefix(f["readonly"])

    def preexec():
        if case.limit_fsize:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (case.limit_fsize, case.limit_fsize))

    before = _hashes(f)
    proc = subprocess.Popen(prefix + cmd, cwd=f["root"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=preexec)
    if case.sigint_after:
        marker = f["root"] / case.sigint_after
        deadline = time.time() + 240
        while not (marker.is_dir() and any(marker.rglob("*.index"))) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        assert proc.poll() is None, f"the command ended (exit {proc.returncode}) before its first checkpoint: nothing to interrupt"
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    return _result(args, f, proc.returncode, err, before)


def _result(args: list, f: dict, code: int, err: str, before: dict) -> Result:
    lines = own_lines(err)
    shown = " ".join(["keras-depth", *args]).replace(str(f["root"]), "$TMP")
    return Result(shown, code, lines[0].replace(str(f["root"]), "$TMP") if lines else "", err, before)


def _run_in_process(case: Case, f: dict, capfd, monkeypatch) -> Result:
    """``keras_depth.cli.main(args)`` here, as the subprocess would run it: in the fixture folder, with
    the subprocess's environment (restored afterwards: ``main`` sets TensorFlow's log level), and with
    nothing left from an earlier case (the readers' skip counts, Keras' layer names and graph)."""
    from keras_depth.cli import main

    args = [_fill(a, f) for a in case.args]
    saved_env = dict(os.environ)
    monkeypatch.chdir(f["root"])
    os.environ.update(KERAS_DEPTH_LOG_DIR=str(f["root"] / "logs"), TF_USE_LEGACY_KERAS="1")
    _clear_process_state()
    before = _hashes(f)
    root_handlers = list(logging.getLogger().handlers)  # pytest's log capture; a fresh process has none
    capfd.readouterr()
    try:
        logging.getLogger().handlers.clear()
        code = main(args)
    except SystemExit as e:  # what the subprocess would exit with
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        logging.getLogger().handlers[:] = root_handlers
        sys.stdout.flush()
        sys.stderr.flush()
        os.environ.clear()
        os.environ.update(saved_env)
        _clear_process_state()
    return _result(args, f, code, capfd.readouterr().err, before)


def _clear_process_state() -> None:
    source = sys.modules.get("keras_depth.data.readers.source")
    if source is not None:
        source.BAD_DATA.reset()
    if "tf_keras" in sys.modules:
        sys.modules["tf_keras"].backend.clear_session()


def _readonly_prefix(folder: Path) -> list[str]:
    """A read-only ``folder`` for one command: a read-only bind mount in a user namespace where that
    works (real EROFS, even for root), else the folder's write permission removed (EACCES)."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-Urm", "true"], capture_output=True).returncode == 0:
        script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
        return ["unshare", "-Urm", "sh", "-c", script, str(folder)]
    if os.geteuid() == 0:
        pytest.skip("no user namespaces and running as root: cannot make a read-only folder")
    folder.chmod(0o555)
    return []


def _predicted(fx: dict, result, folder: str, n: int) -> None:
    """``n`` depth maps written, each finite where predicted, and the skip counted in the summary."""
    import numpy as np

    maps = sorted((fx["root"] / folder).glob("*.npy"))
    assert len(maps) == n, maps
    assert all(np.isfinite(np.load(m)[~np.isnan(np.load(m))]).all() for m in maps)
    assert "skipped 1 unreadable input" in result.stderr, result.stderr


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else []) for c in CASES])
def test_bad_input(case: Case, fx: dict, capfd, monkeypatch) -> None:
    result = _run(case, fx, capfd, monkeypatch)
    lines = own_lines(result.stderr, skips=False)
    where = f"{result.command}\nexit {result.code}\nstderr:\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, where
    if case.verdict == "usage":
        assert result.code == 2, where
        assert len(lines) == 1 and lines[0].startswith("error: "), where
        assert _fill(case.names, fx) in lines[0], f"the error line does not name {case.names!r}\n{where}"
    elif case.verdict in ("ok", "skipped"):
        assert result.code == 0, where
        assert not any(l.startswith("error:") for l in lines), where
    elif case.verdict == "interrupted":
        assert result.code == 130, where
        assert lines and lines[-1].startswith("error: interrupted"), where
    if case.check is not None:
        case.check(fx, result)
    # Recorded only once the case has passed: the doc is written only when every case did.
    RESULTS[case.id] = (case, result)


@pytest.fixture(scope="session", autouse=True)
def _write_reliability_doc():
    yield
    if len(RESULTS) == len(CASES):
        # Sections written by benchmarks (between their <!-- begin: ... --> markers) follow the table and stay.
        old = DOC.read_text() if DOC.is_file() else ""
        kept = old[old.index("<!-- begin:"):] if "<!-- begin:" in old else ""
        DOC.write_text(render_doc().rstrip("\n") + "\n" + ("\n" + kept if kept else ""))


def render_doc() -> str:
    """docs/reliability.md from ``CASES`` and ``RESULTS`` (every case passed its rule to get here)."""
    import collections

    cats = collections.Counter(c.category for c in CASES)
    verdicts = collections.Counter(c.verdict for c in CASES)
    out = ["# Reliability: the bad-input catalogue", "",
           "Generated by `tests/test_bad_inputs.py` from its own table when every case has run (`make test`); "
           "never edit by hand. Each case is one `keras-depth` command line, run through the CLI's entry point "
           "(`keras_depth.cli.main`, what `python -m keras_depth.cli` calls) in the test process with stderr "
           "captured at the file-descriptor level, or as a real `python -m keras_depth.cli ...` subprocess where "
           "the case needs a process of its own (SIGINT, a file-size limit, a read-only mount, video decoding), "
           "judged by one set of rules: bad usage or input exits 2 with one `error:` line naming the flag, key or file; bad samples "
           "where skipping is the contract are counted and skipped with a summary line; an internal failure "
           "exits 1 with one line and the path of a log holding the traceback; no traceback unless `--debug`; "
           "never exit 0 with a wrong result (the cases marked exit 0 check their outputs). `$TMP` is the test's "
           "fixture folder (`tests/bad_input_fixtures.py`). TensorFlow's C++ start-up lines, printed before any "
           "Python runs, and the TFLite runtime's note on creating its CPU delegate are native libraries' lines, "
           "not counted as output.", "",
           f"**{len(CASES)} cases, {len(RESULTS)} OK (100 %).**", "",
           "## Before (issue 15, about 100 bad inputs tried by hand)", "", "| outcome | inputs |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in BEFORE]
    out += ["", "## Now: cases per category", "", "| category | cases | OK |", "|---|---|---|"]
    out += [f"| {CATEGORIES[k]} | {cats[k]} | {cats[k]} |" for k in CATEGORIES]
    out += ["", "## Now: cases per verdict", "", "| verdict | cases | OK |", "|---|---|---|"]
    out += [f"| {VERDICTS[k]} | {verdicts[k]} | {verdicts[k]} |" for k in VERDICTS if verdicts[k]]
    out += ["", "## The cases", "", "| # | category | case | command | exit | stderr (the program's last line) | verdict | before |",
            "|---|---|---|---|---|---|---|---|"]
    for i, case in enumerate(CASES, 1):
        _, r = RESULTS[case.id]
        line = r.line.replace(str(ROOT), ".").replace("|", "\\|")
        line = re.sub(r"/tmp/pytest-of-\w+/pytest-\d+/(popen-gw\d+/)?catalogue\d+", "$TMP", line)
        line = re.sub(r"tempstate\d+", "tempstate<N>", line)  # TensorFlow's random temp-file suffix
        command = r.command.replace("|", "\\|")
        out.append(f"| {i} | {case.category} | {case.id} | `{command}` | {r.code} | {line} | {case.verdict} | {case.before or '-'} |")
    return "\n".join(out) + "\n"


# --- The rules themselves, in-process (no subprocess, no TensorFlow).

def test_internal_failure_is_one_line_with_its_traceback_log(tmp_path, monkeypatch, capsys):
    from keras_depth.cli.failure import run_guarded

    monkeypatch.setenv("KERAS_DEPTH_LOG_DIR", str(tmp_path))

    def bug() -> int:
        return {}["missing"]

    assert run_guarded(bug, ["train", "x.yaml"], debug=False) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: internal failure: KeyError: 'missing' (traceback in ")
    (log,) = tmp_path.glob("keras-depth-*.log")
    assert str(log) in line and "Traceback" in log.read_text() and "in bug" in log.read_text()
    assert run_guarded(bug, [], debug=True) == 1  # --debug: the traceback itself
    assert "Traceback" in capsys.readouterr().err


def test_unwritable_outputs_are_named_from_python_and_tensorflow_errors(tmp_path):
    import errno

    from keras_depth.cli.failure import write_error

    assert write_error(OSError(errno.EROFS, "Read-only file system", "/out/run")) == \
        "cannot write /out/run: read-only file system"
    assert write_error(OSError(errno.ENOSPC, "No space left on device", "/out/x")).endswith("no space left on device (disk full)")
    tf_like = type("ResourceExhaustedError", (Exception,), {"__module__": "tensorflow.python.framework.errors_impl"})
    target = tmp_path / "backup" / "chief" / "ckpt-1_temp" / "part-00000-of-00001.data-00000-of-00001.tempstate1"
    message = ("{{function_node __wrapped__SaveV2_dtypes_226_device_/job:localhost/replica:0/task:0/device:CPU:0}} "
               f"{target}; File too large [Op:SaveV2]")
    assert write_error(tf_like(message)) == f"cannot write {target}: file too large (disk full or file-size limit)"
    assert write_error(ValueError("No space left on device")) is None  # only OSErrors and TensorFlow's


def test_eval_caps_default_to_the_spec_range():
    from keras_depth.config import load_config
    from keras_depth.evaluation.protocol import depth_caps

    relative = "model.spec={kind: depth, semantics: relative, min_depth: 0.5, max_depth: 20.0}"
    assert depth_caps(load_config(None, [relative])) == (0.5, 20.0)
    assert depth_caps(load_config(None, [relative, "eval.max_depth=8"])) == (0.5, 8.0)


def test_every_range_key_names_a_config_number():
    from keras_depth.config import Config
    from keras_depth.config_ranges import LENGTHS, RANGES, _lookup

    config = Config()
    for key in [*RANGES, *LENGTHS]:
        _lookup(config, key.removesuffix("[]"))  # a typo in the table would be an AttributeError
