"""``keras-depth train --workers N`` on one machine: N processes on 127.0.0.1, each told its place in
the cluster by ``TF_CONFIG`` (the variable tf.distribute's MultiWorkerMirroredStrategy reads), worker
0 being the chief. On a real cluster each machine sets ``TF_CONFIG`` itself (README).

No TensorFlow here: the launcher only starts, watches and stops processes. If one worker dies, the
others would wait for it in the next collective: the launcher stops them and fails, and running
the same command again resumes every worker from the chief's backup (BackupAndRestore).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

TF_CONFIG = "TF_CONFIG"


def free_ports(n: int) -> list[int]:
    """``n`` ports the kernel reports free on 127.0.0.1 (held together, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tf_config(ports: Sequence[int], index: int) -> str:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of local workers."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


def _die_with_parent() -> None:
    # A worker must not outlive its launcher (killed by a scheduler, or by chaos_train.py): it would
    # hold its port and wait forever for its peers. PR_SET_PDEATHSIG = 1.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def launch_local_workers(command: Sequence[str], n: int, poll_s: float = 0.2) -> int:
    """Run ``command`` as ``n`` workers; 0 when all succeed, else the first failure's exit code (a
    worker killed by a signal counts as 1). Worker 0's output goes to this process's; the others'
    to temporary logs, whose tail is printed if that worker fails."""
    ports = free_ports(n)
    procs, logs = [], []
    print(f"workers: {n} on 127.0.0.1 (ports {', '.join(map(str, ports))}); worker 0 is the chief", flush=True)
    try:
        for i in range(n):
            env = dict(os.environ, **{TF_CONFIG: tf_config(ports, i)})
            log = None if i == 0 else tempfile.NamedTemporaryFile("w+", prefix=f"keras-depth-worker{i}-", suffix=".log")
            logs.append(log)
            procs.append(subprocess.Popen(list(command), env=env, stdout=log, stderr=subprocess.STDOUT if log else None,
                                          preexec_fn=_die_with_parent))
        while True:
            codes = [p.poll() for p in procs]
            failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                i, code = failed[0]
                _stop(procs)
                why = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                print(f"error: worker {i} (pid {procs[i].pid}) ended with {why}; stopped the others; "
                      "run the same command again to resume from the last backup", file=sys.stderr)
                if logs[i] is not None:
                    _print_tail(Path(logs[i].name))
                return code if code > 0 else 1
            if all(c == 0 for c in codes):
                return 0
            time.sleep(poll_s)
    except KeyboardInterrupt:
        _stop(procs)
        raise
    finally:
        for log in logs:
            if log is not None:
                log.close()


def _stop(procs: Sequence[subprocess.Popen], grace_s: float = 10.0) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.time() + grace_s
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _print_tail(path: Path, lines: int = 20) -> None:
    try:
        tail = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return
    for line in tail:
        print(f"  | {line}", file=sys.stderr)
