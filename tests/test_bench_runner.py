"""``make bench`` (benchmarks/run_all.py): runs the benchmark scripts one after another and writes
their printed figures, with the machine line, into one markdown file."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUN_ALL = REPO / "benchmarks" / "run_all.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUN_ALL), *args], capture_output=True, text=True, cwd=REPO, timeout=600)


def test_every_listed_benchmark_script_exists():
    sys.path.insert(0, str(RUN_ALL.parent))
    try:
        import run_all
    finally:
        sys.path.pop(0)
    for name in run_all.BENCHMARKS:
        assert (RUN_ALL.parent / f"{name}.py").is_file(), name


def test_unknown_benchmark_is_a_one_line_usage_error():
    proc = _run("--only", "bench_nothing", "--out", "")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --only: unknown benchmark(s) ['bench_nothing'] (expected: "
        "bench_synthetic, bench_input_pipeline, bench_models, bench_upsampling, chaos_train)"]


def test_quick_run_writes_the_figures_with_the_machine(tmp_path):
    out = tmp_path / "benchmarks.md"
    proc = _run("--quick", "--only", "bench_synthetic", "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = out.read_text()
    assert text.startswith("# Benchmarks (quick run") and "cores; load average" in text
    assert "## bench_synthetic (ok," in text and "frames/s" in text
