"""Scale-out on tf.distribute, on this machine: ``keras-depth train --workers 2`` (two processes on
127.0.0.1 under MultiWorkerMirroredStrategy, configured through TF_CONFIG) with a global batch B
follows the loss curve of one process with batch B, only the chief writes the run, and the input is
sharded: no sample is seen twice in an epoch.

Tolerance: 1e-5 relative per epoch. Data are deterministic (no crop, flip or colour jitter, fixed
seeds, the same ordered pipeline) and BatchNormalization is synchronized (train.sync_batchnorm), so
what remains is the order of floating-point sums across two replicas: measured 0.6911773/0.5790589/
0.5474586 for one process and 0.6911772/0.5790588/0.5474586 for two workers (2e-7 at most)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
STEPS, EPOCHS, BATCH = 3, 3, 8


def _overrides(tmp_path: Path) -> list[str]:
    return [f"data.cache_dir={tmp_path / 'cache'}", "model.name=tiny_unet_half", "model.params={}",
            "data.train=[{type: synthetic, split: train, count: 48, height: 32, width: 32}]",
            "data.val=[{type: synthetic, split: val, count: 8, height: 32, width: 32}]",
            "data.image_size=[32, 32]", f"data.batch_size={BATCH}", "data.random_crop=false", "data.flip=false",
            "data.color_jitter=0.0", f"train.steps_per_epoch={STEPS}", f"train.epochs={EPOCHS}",
            "train.sync_batchnorm=true", "train.tensorboard_images=1", "train.verbose=2"]


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")


def _train(tmp_path: Path, name: str, workers: int, *extra: str) -> dict:
    out = tmp_path / name
    cmd = [sys.executable, "-m", "keras_depth.cli", "train", "quickstart_local", "--output-dir", str(out),
           "--workers", str(workers)]
    for o in [*_overrides(tmp_path), *extra]:
        cmd += ["--set", o]
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads((out / "history.json").read_text())


@pytest.mark.slow
def test_two_workers_follow_one_process_and_only_the_chief_writes(tmp_path):
    # train.tensorboard_images=1 with 2 workers: the image callback's predict once gave worker 1 an
    # empty batch, which synchronized BatchNorm cannot take (callbacks.predict_replicated pads it).
    # One process under the same strategy (TF_CONFIG unset: a cluster of one), so its input pipeline
    # is the deterministic one the workers share.
    one = _train(tmp_path, "one", 1, "train.distribute=multiworker")
    two = _train(tmp_path, "two", 2)
    print("loss 1 process:", one["loss"], "\nloss 2 workers:", two["loss"])
    assert len(one["loss"]) == len(two["loss"]) == EPOCHS
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-5)
    np.testing.assert_allclose(two["val_loss"], one["val_loss"], rtol=1e-5)
    assert one["loss"][-1] < one["loss"][0]  # it trained, so equal curves are not two flat lines
    written = sorted(p.relative_to(tmp_path / "two").as_posix() for p in (tmp_path / "two").rglob("*") if p.is_file())
    assert not [p for p in written if "workertemp" in p or "backup" in p], written
    assert "model.keras" in written and "history.json" in written and "checkpoints/best.keras" in written


@pytest.mark.slow
def test_input_is_sharded_by_data_no_sample_twice(tmp_path):
    """Each worker's samples over 2 steps (global batch 8): disjoint, 8 per worker, and together the
    16 that one process sees in the same 2 steps."""
    from keras_depth.training.workers import launch_local_workers

    steps = 2
    alone = tmp_path / "alone.json"
    probe = [sys.executable, str(REPO / "tests" / "_shard_probe.py")]
    overrides = _overrides(tmp_path)
    subprocess.run([*probe, str(alone), str(steps), "none", *overrides], cwd=REPO, env=_env(), check=True, timeout=300)
    # each worker writes its own file: the launcher gives every worker the same command, TF_CONFIG differs
    script = ("import json, os, runpy, sys; i = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
              f"sys.argv = [{str(probe[1])!r}, f'{tmp_path}/worker{{i}}.json', '{steps}', 'multiworker', "
              f"*{overrides!r}]; runpy.run_path(sys.argv[0], run_name='__main__')")
    old = os.environ.copy()
    os.environ.update(_env())
    try:
        cwd = os.getcwd()
        os.chdir(REPO)
        assert launch_local_workers([sys.executable, "-c", script], 2) == 0
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(old)
    w0, w1 = (json.loads((tmp_path / f"worker{i}.json").read_text()) for i in (0, 1))
    everything = json.loads(alone.read_text())
    assert len(w0) == len(w1) == steps * BATCH // 2
    assert len(set(w0 + w1)) == len(w0) + len(w1), "a sample was fed to both workers"
    assert sorted(w0 + w1) == sorted(everything), "together the workers see what one process sees"


def test_tf_config_names_the_cluster_and_the_task():
    from keras_depth.training.workers import tf_config

    assert json.loads(tf_config([1111, 2222], 1)) == {
        "cluster": {"worker": ["127.0.0.1:1111", "127.0.0.1:2222"]}, "task": {"type": "worker", "index": 1}}


def test_launcher_stops_the_others_when_one_worker_fails(tmp_path, capsys):
    """Worker 1 fails at once; worker 0 would run for a minute: the launcher stops it and returns the
    failure's exit code, with one error line naming the worker."""
    import time

    from keras_depth.training.workers import launch_local_workers

    script = ("import json, os, sys, time; i = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
              "sys.exit(3) if i == 1 else time.sleep(60)")
    start = time.time()
    assert launch_local_workers([sys.executable, "-c", script], 2) == 3
    assert time.time() - start < 30, "worker 0 was left running"
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "worker 1" in err[0] and "exit code 3" in err[0]


@pytest.mark.parametrize("args, env, expected", [
    (["--workers", "0"], {}, "--workers expects a positive integer, got '0'"),
    (["--workers", "2"], {"TF_CONFIG": "{}"}, "--workers: TF_CONFIG is already set"),
    (["--workers", "3", "--set", "data.batch_size=2"], {},
     "--workers 3: data.batch_size (2) is the global batch and must be at least the number of workers"),
])
def test_workers_flag_usage_errors(args, env, expected):
    proc = subprocess.run([sys.executable, "-m", "keras_depth.cli", "train", "quickstart_local", *args], cwd=REPO,
                          env={**_env(), **env}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and expected in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
