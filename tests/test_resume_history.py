"""``history.json`` across interruptions (ResumedHistory): the logs of every epoch, each once."""
from __future__ import annotations

import json
import math

from keras_depth.training.resume import ResumedHistory


def _run(path, first_epoch: int, last_epoch: int, loss_of) -> ResumedHistory:
    """What ``fit`` calls on the callback for epochs first_epoch..last_epoch (0-based)."""
    h = ResumedHistory(path)
    h.on_train_begin()
    for epoch in range(first_epoch, last_epoch + 1):
        h.on_epoch_begin(epoch)
        h.on_epoch_end(epoch, {"loss": loss_of(epoch), "val_loss": 10 + loss_of(epoch)})
    return h


def test_history_of_an_interrupted_run_holds_every_epoch_once(tmp_path):
    path = tmp_path / "backup" / "history.json"
    # run 1 does epochs 1-2 (index 0, 1) and is killed during epoch 3
    _run(path, 0, 1, lambda e: 1.0 + e)
    assert json.loads(path.read_text())["loss"] == [1.0, 2.0]
    # run 2 resumes at epoch 3 and finishes epoch 4
    h = _run(path, 2, 3, lambda e: 100.0 + e)
    assert h.history == {"loss": [1.0, 2.0, 102.0, 103.0], "val_loss": [11.0, 12.0, 112.0, 113.0]}
    assert json.loads(path.read_text()) == h.history


def test_an_epoch_logged_but_not_checkpointed_is_replaced_when_it_runs_again(tmp_path):
    """Killed after epoch 3's logs were written but before its checkpoint: the re-run starts at
    epoch 3 again, and its logs replace the first attempt's."""
    path = tmp_path / "history.json"
    _run(path, 0, 2, lambda e: 1.0 + e)
    h = _run(path, 2, 3, lambda e: 200.0 + e)
    assert h.history["loss"] == [1.0, 2.0, 202.0, 203.0]


def test_lost_logs_read_nan_and_never_shift_later_epochs(tmp_path):
    h = _run(tmp_path / "absent.json", 2, 3, lambda e: float(e))
    loss = h.history["loss"]
    assert len(loss) == 4 and all(math.isnan(v) for v in loss[:2]) and loss[2:] == [2.0, 3.0]


def test_a_fresh_run_starts_an_empty_history(tmp_path):
    h = _run(tmp_path / "history.json", 0, 1, lambda e: 5.0)
    assert h.history["loss"] == [5.0, 5.0]
