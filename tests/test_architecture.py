"""The layers of docs/architecture.md hold: import-linter keeps the contracts on the tree, and fails
on a copy of the tree with one deliberate upward import or one import cycle."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("keras_depth", "export")
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache", "--config", str(REPO / ".importlinter")], cwd=root,
                          capture_output=True, text=True, env=env, timeout=300)


def _copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_contracts_kept_on_the_tree():
    proc = _lint(REPO)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "0 broken" in proc.stdout


# (file, appended import, what lint-imports says): each arrow points up one or more floors.
UPWARD = [
    ("keras_depth/models/blocks.py", "import export.manifest", "keras_depth.models is not allowed to import export"),
    ("keras_depth/distill/pipeline.py", "import export.variants", "keras_depth.distill is not allowed to import export"),
    ("keras_depth/runtime/tflite.py", "import keras_depth.training.trainer",
     "keras_depth.runtime is not allowed to import keras_depth.training"),
]


@pytest.mark.parametrize("path, line, message", UPWARD, ids=[m.split(" is ")[0] for _, _, m in UPWARD])
def test_upward_import_breaks_the_layers_contract(tmp_path, path, line, message):
    root = _copy_tree(tmp_path)
    _append(root / path, f"{line}  # deliberate: an upward arrow")
    proc = _lint(root)
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout[-3000:]


def test_import_cycle_breaks_the_acyclic_contract(tmp_path):
    root = _copy_tree(tmp_path)
    # export.variants imports export.parity; the reverse closes a cycle inside one layer.
    _append(root / "export" / "parity.py", "import export.variants  # deliberate cycle")
    proc = _lint(root)
    assert proc.returncode != 0
    assert "No cycles are allowed in export" in proc.stdout, proc.stdout[-3000:]


@pytest.mark.parametrize("pkg", PACKAGES)
def test_no_module_over_400_lines(pkg):
    long = {str(p.relative_to(REPO)): n for p in (REPO / pkg).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"modules over 400 lines (split them by responsibility): {long}"


def test_argparse_only_in_the_cli_package():
    users = [str(p.relative_to(REPO)) for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")
             if "cli" not in p.relative_to(REPO).parts and "import argparse" in p.read_text()]
    assert not users, f"argparse outside keras_depth/cli (library code takes typed options): {users}"


def test_keras_is_imported_only_through_kerasapi():
    import re

    direct = re.compile(r"^\s*(import (tf_keras|keras)\b|from (tf_keras|keras)\b|from tensorflow import keras|"
                        r"import tensorflow\.keras|from tensorflow\.keras)", re.M)
    offenders = [str(p.relative_to(REPO)) for d in (*PACKAGES, "tests", "benchmarks") for p in (REPO / d).rglob("*.py")
                 if p.name != "kerasapi.py" and direct.search(p.read_text())]
    assert not offenders, f"Keras imported directly (use keras_depth.kerasapi): {offenders}"


def test_no_public_definition_without_a_caller_outside_tests():
    from tools.dead_code import dead_code

    dead = dead_code(REPO)
    assert not dead, ("public functions or methods that nothing outside tests/ calls (python -m tools.dead_code; "
                      "remove them, or move a test-only helper into tests/):\n" + "\n".join(dead))


def test_dead_code_allowlist_names_only_definitions_without_callers():
    """An allowed entry that gained a caller, or whose definition is gone, is taken out of the list."""
    from tools.dead_code import ALLOWED, dead_code

    assert sorted(line.split()[-1] for line in dead_code(REPO, allowed={})) == sorted(ALLOWED)


def test_dead_code_check_reports_what_only_tests_docs_or_dead_code_call(tmp_path):
    from tools.dead_code import dead_code

    root = tmp_path / "tree"
    for folder in ("keras_depth", "export", "benchmarks", "tools", "tests"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(REPO / "pyproject.toml", root)
    _append(root / "keras_depth" / "geometry.py", "\n".join([
        "def uncalled(x):",
        '    """Also reachable as ``only_by_tests(x)`` and ``geometry.only_by_tests``: prose, no call."""',
        "    return only_by_dead_code(x) + uncalled(x - 1)",  # its own recursion is no caller
        "def only_by_dead_code(x):",
        "    return x",
        "def only_by_tests(x):",
        "    return x",
        "class Scale:",
        "    def unused_method(self):",
        "        return 1",
        "    def used_method(self):",
        "        return 2",
        "__all__ = ['only_by_tests']",
    ]))
    _append(root / "export" / "manifest.py", "USED = __import__('keras_depth.geometry').geometry.Scale().used_method()")
    (root / "tests" / "test_geometry_calls.py").write_text("from keras_depth.geometry import only_by_tests\n\n"
                                                           "def test_it():\n    assert only_by_tests(1) == 1\n")
    dead = sorted(line.split()[-1] for line in dead_code(root))
    assert dead == ["Scale.unused_method", "only_by_dead_code", "only_by_tests", "uncalled"]
