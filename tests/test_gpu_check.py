"""benchmarks/gpu_check.sh: the shell script parses, and its Python entry (``python -m
benchmarks.bench_training --device gpu``) runs on this CPU with ``--check``: the real trainer for a
few steps at 32x32 (on the smallest U-Net, tiny_unet_half, whose XLA compile takes seconds, not
minutes) with mixed_bfloat16 and XLA, so CI covers the GPU check's code path."""
from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_script_parses_and_names_the_cuda_wheels():
    script = ROOT / "benchmarks" / "gpu_check.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert 'tensorflow[and-cuda]==2.21.*' in text and "-m benchmarks.bench_training --device gpu" in text
    assert 'gpu = ["tensorflow[and-cuda]' in (ROOT / "pyproject.toml").read_text()


@pytest.mark.slow
def test_gpu_check_code_path_on_cpu(tmp_path):
    from benchmarks.bench_training import main
    from keras_depth.kerasapi import keras

    out = tmp_path / "rows.json"
    assert main(["--check", "--device", "cpu", "--presets", "tiny_unet_half", "--steps", "3", "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    assert row["precision"] == "mixed_bfloat16" and row["jit_compile"] is True
    # the policy really was used: bf16 compute on float32 variables, a float32 output
    assert row["compute_dtype"] == "bfloat16" and row["variable_dtype"] == "float32"
    assert row["output_dtype"] == "float32"
    assert row["xla"] is True  # the train step ran through the jit_compile=True function
    assert math.isfinite(row["loss"]) and row["images_per_s"] > 0
    # what was saved is the float32 inference model, and the global policy is float32 again
    assert row["saved_dtypes"] == ["float32"]
    assert row["policy_after"] == "float32" == keras.mixed_precision.global_policy().name
