"""Kill -9, for real: ``keras-depth train`` killed with SIGKILL at random moments, re-run until it ends.

    .venv/bin/python -m benchmarks.chaos_train --runs 10 --kills 3 --seed 0 --out runs/chaos   (~25 min on 2 cores)
    .venv/bin/python -m benchmarks.chaos_train --runs 2 --kills 2 --workers 2 --out runs/chaos2

Each run starts ``keras-depth train`` on a small config (the quickstart_local model, 4 epochs of 4
steps) as a subprocess and kills it ``--kills`` times, each kill seeded and of one of two kinds:
``timer`` (a random moment after the start: loading, tracing, mid-epoch, saving) or ``checkpoint``
(the instant the n-th new file appears in BackupAndRestore's folder, i.e. while a checkpoint is being
written). After each kill the same command runs again; the last attempt runs to the end. With
``--workers 2`` the command is ``keras-depth train --workers 2`` and a kill hits one worker at random;
the launcher stops the other, and the re-run restarts both from the chief's backup.

What an attempt acknowledged: an epoch whose end line was printed (Keras prints it after every other
epoch-end callback, BackupAndRestore's backup included). A checkpoint is **lost** when a re-run
starts at or before an acknowledged epoch; an attempt that fails without being killed counts as a
**corrupted** state. At the end every run must have completed its configured epochs with every epoch
in ``history.json``, and its ``model.keras`` must load and export to int8 TFLite (parity-checked).
The figures go to stdout, ``OUT/chaos.json`` and a generated section of ``docs/reliability.md``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks import REPO, doc_sections

DOC = REPO / "docs" / "reliability.md"
SCRIPT = "benchmarks/chaos_train.py"  # the owner of its sections in the doc's markers
EPOCH_BEGIN = re.compile(r"^Epoch (\d+)/(\d+)")
EPOCH_END = re.compile(r"^\s*\d+/\d+ - .*\bloss: ")
MODES = ("timer", "checkpoint")


def train_command(out: Path, cache: Path, epochs: int, steps: int, workers: int, overrides: list[str] = ()) -> list[str]:
    cmd = [sys.executable, "-m", "keras_depth.cli", "train", "quickstart_local", "--output-dir", str(out)]
    for o in (f"data.cache_dir={cache}", f"train.epochs={epochs}", f"train.steps_per_epoch={steps}",
              "train.tensorboard_images=1", "train.verbose=2", *overrides):
        cmd += ["--set", o]
    return cmd + (["--workers", str(workers)] if workers > 1 else [])


def _files(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` with its modification time (what a watcher of the folder sees)."""
    found = {}
    for root, _, names in os.walk(folder):
        for n in names:
            try:
                found[os.path.join(root, n)] = os.stat(os.path.join(root, n)).st_mtime_ns
            except OSError:
                pass
    return found


def _workers_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def attempt(cmd: list[str], env: dict, watch: Path, plan: dict | None, workers: int, log: Path) -> dict:
    """Run ``cmd`` once; kill it as ``plan`` says ({mode, delay_s | nth, target}) or let it end."""
    lines: list[str] = []
    state = {"start_epoch": None, "current": None, "acked": 0}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO)

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            m = EPOCH_BEGIN.match(line)
            if m:
                state["current"] = int(m.group(1))
                if state["start_epoch"] is None:
                    state["start_epoch"] = state["current"]
            elif EPOCH_END.match(line) and state["current"] is not None:
                state["acked"] = state["current"]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    start, seen, events, killed = time.time(), _files(watch), 0, None
    while proc.poll() is None and plan is not None and killed is None:
        fire = False
        if plan["mode"] == "timer":
            fire = time.time() - start >= plan["delay_s"]
        else:
            now = _files(watch)
            if any(seen.get(p) != t for p, t in now.items()):
                events += 1
                fire = events >= plan["nth"]
            seen = now
        if fire:
            pid = proc.pid
            if workers > 1:
                children = _workers_of(proc.pid)
                if not children:  # the launcher has not started its workers yet
                    time.sleep(0.01)
                    continue
                pid = children[plan["target"] % len(children)]
            try:
                os.kill(pid, signal.SIGKILL)
                killed = {"pid": pid, "worker": None if workers == 1 else plan["target"] % workers,
                          "at_s": round(time.time() - start, 2), "epoch": state["current"]}
            except ProcessLookupError:
                pass
        time.sleep(0.01)
    code = proc.wait()
    reader.join(timeout=10)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("".join(lines))
    return {"plan": plan, "killed": killed, "exit": code, "start_epoch": state["start_epoch"], "acked": state["acked"],
            "started_at": start,
            "seconds": round(time.time() - start, 1), "last_line": lines[-1].strip() if lines else ""}


def chaos_run(index: int, args: argparse.Namespace, env: dict) -> dict:
    rng = random.Random(f"{args.seed}-{index}")
    out = Path(args.out) / f"run{index}"
    cmd = train_command(out, Path(args.out) / "cache", args.epochs, args.steps, args.workers, args.overrides)
    modes = args.modes.split(",") if args.modes else [rng.choice(MODES) for _ in range(args.kills)]
    attempts, acked, lost, corrupted, failures = [], 0, 0, 0, 0
    k = 0
    while True:
        plan = None
        if k < args.kills:
            mode = modes[k % len(modes)]
            plan = {"mode": mode, "target": rng.randrange(max(1, args.workers))}
            if mode == "timer":
                plan["delay_s"] = round(rng.uniform(*args.window), 2)
            else:
                # a save is 3 or 4 file events (temporary part, final files, state file, old one
                # deleted): events 1-8 land in the first or second save of the attempt
                plan["nth"] = rng.randint(1, 8)
        a = attempt(cmd, env, out / "backup" / "chief", plan, args.workers, Path(args.out) / "logs" / f"run{index}-{len(attempts)}.log")
        if attempts and a["start_epoch"] is not None and a["start_epoch"] <= acked:
            lost += 1
        acked = max(acked, a["acked"])
        attempts.append(a)
        print(f"  run {index} attempt {len(attempts)}: {_describe(a)}", flush=True)
        if a["killed"] is not None:
            k += 1
            if _finished(out, a["started_at"]):
                break  # the kill came after the run had written its model and removed its backup
            continue
        if a["exit"] == 0:
            break
        corrupted += 1  # ended on its own with an error: the state it started from was unusable
        failures += 1
        if failures > 2:
            break
    history = _history(out)
    return {"run": index, "attempts": attempts, "kills": sum(a["killed"] is not None for a in attempts),
            "resumed_from": [a["start_epoch"] for a in attempts[1:]],
            "completed": attempts[-1]["exit"] == 0 or _finished(out, attempts[-1]["started_at"]),
            "history_epochs": history, "lost": lost, "corrupted": corrupted, "out": str(out)}


def _finished(out: Path, since: float) -> bool:
    """The run wrote its model after ``since`` and removed its backup: training is over."""
    try:
        return (out / "model.keras").stat().st_mtime >= since and not (out / "backup").exists()
    except OSError:
        return False


def _describe(a: dict) -> str:
    start = f"started at epoch {a['start_epoch']}" if a["start_epoch"] else "killed before epoch 1 began"
    if a["killed"]:
        p = a["plan"]
        how = f"timer {p['delay_s']} s" if p["mode"] == "timer" else f"checkpoint file event #{p['nth']}"
        who = f" worker {a['killed']['worker']}" if a["killed"]["worker"] is not None else ""
        return f"{start}; SIGKILL{who} at {a['killed']['at_s']} s ({how}), {a['acked']} epoch(s) acknowledged"
    return f"{start}; exit {a['exit']} after {a['seconds']} s ({a['last_line'][:120]})"


def _history(out: Path) -> int:
    """Epochs in ``history.json`` with a finite loss (0 when absent)."""
    try:
        loss = json.loads((out / "history.json").read_text())["loss"]
    except (OSError, ValueError, KeyError):
        return 0
    return sum(1 for v in loss if math.isfinite(v))


def check_models(runs: list[dict]) -> None:
    """Each completed run's model.keras loads and exports to int8 TFLite (parity-checked)."""
    from export.variants import export_variants
    from keras_depth.config import load_config
    from keras_depth.models.io import load_trained_model

    for r in runs:
        r["exported"] = False
        if not r["completed"]:
            continue
        out = Path(r["out"])
        try:
            config = load_config(out / "config.json", ["export.representative_samples=8", "export.parity_samples=2"])
            model = load_trained_model(out / "model.keras")
            exported = export_variants(config, model, None, out / "export", ["int8_ptq"], log=lambda s: None)
            r["exported"] = all(Path(e.path).stat().st_size > 0 for e in exported)
        except Exception as e:  # noqa: BLE001  (any failure is the figure being measured)
            r["export_error"] = f"{type(e).__name__}: {e}"[:300]


def summary(runs: list[dict], args: argparse.Namespace, seconds: float) -> dict:
    attempts = [a for r in runs for a in r["attempts"]]
    kills = [a for a in attempts if a["killed"]]
    return {
        "runs": len(runs), "kills_per_run": args.kills, "workers": args.workers, "epochs": args.epochs, "seed": args.seed,
        "completed": sum(r["completed"] and r["history_epochs"] == args.epochs for r in runs),
        "loadable_exportable": sum(r.get("exported", False) for r in runs),
        "kills": len(kills), "kills_timer": sum(a["plan"]["mode"] == "timer" for a in kills),
        "kills_checkpoint": sum(a["plan"]["mode"] == "checkpoint" for a in kills),
        "resumes": sum(len(r["attempts"]) - 1 for r in runs),
        "resumed_from_backup": sum(1 for r in runs for e in r["resumed_from"] if e and e > 1),
        "resume_start_epochs": {str(e): sum(1 for r in runs for s in r["resumed_from"] if s == e)
                                for e in range(1, args.epochs + 1)},
        "killed_before_training": sum(1 for a in kills if a["start_epoch"] is None),
        "lost_checkpoints": sum(r["lost"] for r in runs), "corrupted": sum(r["corrupted"] for r in runs),
        "minutes": round(seconds / 60, 1),
    }


def markdown(s: dict, command: str) -> list[str]:
    starts = ", ".join(f"epoch {e}: {n}" for e, n in s["resume_start_epochs"].items())
    return [
        f"`{command}` ({s['minutes']} min; {s['workers']} worker(s) per run, {s['epochs']} epochs of a small config):",
        "",
        "| figure | value |", "|---|---|",
        f"| runs completed with all {s['epochs']} epochs in history.json | **{s['completed']} of {s['runs']}** |",
        f"| models that load and export to int8 TFLite | **{s['loadable_exportable']} of {s['runs']}** |",
        f"| SIGKILLs (at a random moment / right after a checkpoint file appeared) | {s['kills']} ({s['kills_timer']} / {s['kills_checkpoint']}) |",
        f"| re-runs after a kill (resumes) | {s['resumes']} |",
        f"| ... that started from a backup (epoch > 1) | {s['resumed_from_backup']} |",
        f"| ... by the epoch they started from | {starts} |",
        f"| kills before epoch 1 began (loading, tracing) | {s['killed_before_training']} |",
        f"| checkpoints lost (a re-run starting at or before an acknowledged epoch) | **{s['lost_checkpoints']}** |",
        f"| corrupted states (a re-run failing on its own) | **{s['corrupted']}** |",
    ]


def write_doc(path: Path, workers: int, body: list[str]) -> None:
    """Replace this benchmark's section of ``path`` (created if absent); the rest is not ours."""
    name = f"--workers {workers}" if workers > 1 else ""
    begin, end = doc_sections.markers(SCRIPT, name)
    title = "## Kill -9 during training" + (f", {workers} workers" if workers > 1 else "") + " (measured)"
    doc_sections.write_section(path, SCRIPT, name, "\n".join([begin, title, "", *body, end]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--kills", type=int, default=3, help="SIGKILLs per run before it may finish")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1, help="keras-depth train --workers N; a kill hits one worker")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--steps", type=int, default=4, help="train.steps_per_epoch")
    ap.add_argument("--window", type=float, nargs=2, default=(2.0, 60.0), metavar=("LO", "HI"),
                    help="seconds after an attempt's start within which a timer kill falls")
    ap.add_argument("--modes", help="comma-separated kill kinds in order (timer, checkpoint); default: seeded random")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="a further config override of the trained run (repeatable; default: none, the "
                    "quickstart_local model); tests/test_chaos.py trains a smaller model with it")
    ap.add_argument("--out", default="runs/chaos")
    ap.add_argument("--doc", default=str(DOC), help="markdown file whose chaos section to write ('' for none)")
    args = ap.parse_args(argv)
    bad = [m for m in (args.modes or "").split(",") if m and m not in MODES]
    if bad or min(args.runs, args.epochs, args.steps, args.workers) < 1 or args.kills < 0:
        print(f"error: expected --runs/--epochs/--steps/--workers >= 1, --kills >= 0 and --modes from {MODES}", file=sys.stderr)
        return 2
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="3", TF_USE_LEGACY_KERAS="1")
    start = time.time()
    command = " ".join(["python -m benchmarks.chaos_train", *(argv if argv is not None else sys.argv[1:])])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for i in range(args.runs):
        print(f"run {i}", flush=True)
        runs.append(chaos_run(i, args, env))
        check_models(runs[-1:])
        if "export_error" in runs[-1]:
            print(f"  run {i}: {runs[-1]['export_error']}", flush=True)
        # the figures so far, after every run: a benchmark stopped early still leaves what it measured
        s = summary(runs, args, time.time() - start)
        (out / "chaos.json").write_text(json.dumps({"summary": s, "runs": runs}, indent=2))
        body = markdown(s, command)
        if len(runs) < args.runs:
            body.append(f"\n(after {len(runs)} of the {args.runs} runs asked for; the rest had not run yet)")
        if args.doc:
            write_doc(Path(args.doc), args.workers, body)
    print("\n".join(body), flush=True)
    if args.doc:
        print(f"wrote the chaos section of {args.doc}")
    ok = s["completed"] == s["loadable_exportable"] == s["runs"] and s["lost_checkpoints"] == s["corrupted"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
