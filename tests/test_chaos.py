"""``python -m benchmarks.chaos_train`` with 2 kills: one the instant a checkpoint file appears (mid-save), one
at a random moment; the re-runs complete the configured epochs, nothing is lost or corrupted, and the
model loads and exports to int8 TFLite."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# Killing and resuming do not depend on the model: the smallest U-Net (tiny_unet_half) at 32x32, whose
# attempts start training seconds after launch instead of tracing MobileNetV2 for half a minute. The
# timer kill's window is scaled down with them (seed 0 draws 5.4 s: still before the attempt ends).
SMALL = ["model.name=tiny_unet_half", "model.params={}", "data.image_size=[32, 32]",
         "data.train=[{type: synthetic, split: train, count: 16, height: 32, width: 32}]",
         "data.val=[{type: synthetic, split: val, count: 8, height: 32, width: 32}]"]


@pytest.mark.slow
def test_training_survives_two_sigkills(tmp_path):
    out = tmp_path / "chaos"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.chaos_train", "--runs", "1", "--kills", "2", "--epochs", "2",
         "--steps", "1", "--modes", "checkpoint,timer", "--window", "2", "6", "--seed", "0", "--out", str(out), "--doc", "",
         *[a for o in SMALL for a in ("--set", o)]],
        cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "chaos.json").read_text())
    s, run = report["summary"], report["runs"][0]
    assert (s["completed"], s["loadable_exportable"], s["lost_checkpoints"], s["corrupted"]) == (1, 1, 0, 0)
    # both kills happened before the run ended (else the run would have completed early)
    assert [a["killed"] is not None for a in run["attempts"]] == [True, True, False]
    assert run["attempts"][0]["plan"]["mode"] == "checkpoint" and run["history_epochs"] == 2
    history = json.loads((Path(run["out"]) / "history.json").read_text())
    assert len(history["loss"]) == len(history["val_loss"]) == 2
    assert not (Path(run["out"]) / "backup").exists()
