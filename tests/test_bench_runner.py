"""``make bench`` (``python -m benchmarks.run_all``): runs the benchmark modules one after another and
writes their printed figures, with the machine line, into one markdown file."""
from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks import run_all

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.run_all", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=600)


def test_every_listed_benchmark_is_a_module_of_the_package():
    for name in (*run_all.BENCHMARKS, run_all.PEAK):
        assert importlib.util.find_spec(f"benchmarks.{name}") is not None, name


def test_benchmarks_import_one_way_and_never_edit_sys_path():
    """Run as ``python -m benchmarks.NAME`` from the repository root: absolute imports of the package,
    no ``sys.path`` edits and no imports of a sibling by its bare name."""
    siblings = {p.stem for p in (REPO / "benchmarks").glob("*.py")}
    bad = []
    for path in sorted((REPO / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys":
                bad.append(f"{path.name}:{node.lineno} sys.path")
            elif isinstance(node, ast.Import) and any(a.name.split(".")[0] in siblings for a in node.names):
                bad.append(f"{path.name}:{node.lineno} import of a sibling by its bare name")
            elif isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in siblings):
                bad.append(f"{path.name}:{node.lineno} relative or bare-name import")
    assert not bad, bad


def test_unknown_benchmark_is_a_one_line_usage_error():
    proc = _run("--only", "bench_nothing", "--out", "")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --only: unknown benchmark(s) ['bench_nothing'] (expected: "
        "bench_synthetic, bench_training, bench_input_pipeline, bench_models, bench_upsampling, bench_latency, bench_predict, bench_refine, chaos_train)"]


def test_quick_run_writes_the_figures_with_the_machine(tmp_path):
    out = tmp_path / "benchmarks.md"
    proc = _run("--quick", "--only", "bench_synthetic", "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = out.read_text()
    assert text.startswith("# Benchmarks (quick run") and "cores; load average" in text
    assert "## bench_synthetic (ok," in text and "frames/s" in text
    assert "`python -m benchmarks.bench_synthetic --frames 100`" in text  # how to run it by hand


def test_markdown_output_goes_in_as_is_and_plain_text_in_a_code_block():
    md = f"{run_all.MARKDOWN}\n### t\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![p](img/p.png)\n"
    assert run_all.section_body(md) == "### t\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![p](img/p.png)\n"
    assert run_all.section_body("frames/s: 10\n| not a table\n") == "```\nframes/s: 10\n| not a table\n```\n"
    # the marker counts only as the first line: a plain-text script that prints it later stays in a code block
    assert run_all.section_body(f"x\n{run_all.MARKDOWN}\n").startswith("```\nx\n")


def test_chaos_train_never_rewrites_reliability_doc_and_full_run_is_short():
    full, quick = run_all.BENCHMARKS["chaos_train"]
    for args in (full, quick):
        assert args[args.index("--doc") + 1] == ""
    assert full[full.index("--runs") + 1] == "3" and full[full.index("--kills") + 1] == "3"


def test_chaos_train_runs_only_when_named():
    """make bench's default list leaves the opt-in chaos run out; --only still selects it."""
    assert run_all.OPT_IN == ("chaos_train",) and "chaos_train" in run_all.BENCHMARKS
    assert "chaos_train" not in run_all.default_names() and "bench_latency" in run_all.default_names()


def test_bench_training_configs_build_every_timed_preset():
    """The full bench_training run times three presets on the quickstart config: each must build from
    its config (the quickstart's output_stride 2 once leaked into nnconv5_mobilenetv2, which refuses it,
    and the full run died after its first preset; --quick times only the first)."""
    from benchmarks.bench_training import PRESETS, _config
    from keras_depth.models import build_model_from_config

    for preset in PRESETS:
        config = _config(preset)
        assert config.model.name == preset
        model = build_model_from_config(config.model, config.data.image_size)
        assert model.outputs[0].shape[1:3] == tuple(config.data.image_size), preset


def test_bench_upsampling_writes_a_section_that_keras_depth_models_keeps(tmp_path):
    """bench_upsampling writes its section of docs/models.md through doc_sections (atomically, only
    between its markers), and the section starts as export.preset_table expects of one it keeps."""
    from benchmarks import bench_upsampling, doc_sections
    from export.preset_table import KEPT_SECTION

    r = {"abs_rel": 0.5, "delta1": 0.4}
    results = {"nearest": {"float": r, "qat_keras": r, "int8": r, "int8_abs_rel_increase": 0.0,
                           "int8_vs_qat_abs_rel": 0.0, "int8_ms": 1.0}}
    section = bench_upsampling.render_section(results, "a note", 64)
    assert section.startswith(KEPT_SECTION)
    doc = tmp_path / "models.md"
    doc.write_text("table\n\n" + section.replace("| nearest |", "| old run |") + "\n\nwritten by hand\n")
    doc_sections.write_section(doc, bench_upsampling.SCRIPT, "", section)
    assert doc.read_text() == "table\n\n" + section + "\n\nwritten by hand\n"


def test_guided_filter_keeps_its_guide_and_flattens_under_a_flat_guide():
    """He et al.'s filter: with the input as its own guide and eps -> 0, a = 1 and b = 0 in every window,
    so the output is the input; under a constant guide, a = 0 and the output is the box mean of the box
    mean of the input."""
    import cv2

    from benchmarks.bench_refine import guided_filter

    rng = np.random.default_rng(0)
    img = rng.random((20, 30)).astype(np.float32)
    np.testing.assert_allclose(guided_filter(img, img, 2, 1e-9), img, atol=1e-3)
    flat = np.full_like(img, 0.5)
    box = lambda x: cv2.boxFilter(x, -1, (5, 5), normalize=True, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    np.testing.assert_allclose(guided_filter(flat, img, 2, 1e-3), box(box(img)), atol=1e-5)
