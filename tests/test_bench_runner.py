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


def _run_all_module():
    sys.path.insert(0, str(RUN_ALL.parent))
    try:
        import run_all
    finally:
        sys.path.pop(0)
    return run_all


def test_every_listed_benchmark_script_exists():
    run_all = _run_all_module()
    for name in run_all.BENCHMARKS:
        assert (RUN_ALL.parent / f"{name}.py").is_file(), name


def test_unknown_benchmark_is_a_one_line_usage_error():
    proc = _run("--only", "bench_nothing", "--out", "")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --only: unknown benchmark(s) ['bench_nothing'] (expected: "
        "bench_synthetic, bench_training, bench_input_pipeline, bench_models, bench_upsampling, bench_latency, chaos_train)"]


def test_quick_run_writes_the_figures_with_the_machine(tmp_path):
    out = tmp_path / "benchmarks.md"
    proc = _run("--quick", "--only", "bench_synthetic", "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = out.read_text()
    assert text.startswith("# Benchmarks (quick run") and "cores; load average" in text
    assert "## bench_synthetic (ok," in text and "frames/s" in text


def test_markdown_output_goes_in_as_is_and_plain_text_in_a_code_block():
    run_all = _run_all_module()
    md = f"{run_all.MARKDOWN}\n### t\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![p](img/p.png)\n"
    assert run_all.section_body(md) == "### t\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![p](img/p.png)\n"
    assert run_all.section_body("frames/s: 10\n| not a table\n") == "```\nframes/s: 10\n| not a table\n```\n"
    # the marker counts only as the first line: a plain-text script that prints it later stays in a code block
    assert run_all.section_body(f"x\n{run_all.MARKDOWN}\n").startswith("```\nx\n")


def test_chaos_train_never_rewrites_reliability_doc_and_full_run_is_short():
    full, quick = _run_all_module().BENCHMARKS["chaos_train"]
    for args in (full, quick):
        assert args[args.index("--doc") + 1] == ""
    assert full[full.index("--runs") + 1] == "3" and full[full.index("--kills") + 1] == "3"


def test_chaos_train_runs_only_when_named():
    """make bench's default list leaves the opt-in chaos run out; --only still selects it."""
    run_all = _run_all_module()
    assert run_all.OPT_IN == ("chaos_train",) and "chaos_train" in run_all.BENCHMARKS
    assert "chaos_train" not in run_all.default_names() and "bench_latency" in run_all.default_names()


def test_bench_training_configs_build_every_timed_preset():
    """The full bench_training run times three presets on the quickstart config: each must build from
    its config (the quickstart's output_stride 2 once leaked into nnconv5_mobilenetv2, which refuses it,
    and the full run died after its first preset; --quick times only the first)."""
    sys.path.insert(0, str(RUN_ALL.parents[1]))
    from benchmarks.bench_training import PRESETS, _config
    from keras_depth.models import build_model_from_config

    for preset in PRESETS:
        config = _config(preset)
        assert config.model.name == preset
        model = build_model_from_config(config.model, config.data.image_size)
        assert model.outputs[0].shape[1:3] == tuple(config.data.image_size), preset
