"""The policy for tests that need ../shared: skipped with a one-line reason on a user's clone where
it is absent, a failure under CI=true. Checked by running pytest on a two-test file with the
project's conftest and KERAS_DEPTH_SHARED pointing at an empty folder."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

PROBE = '''
import pytest

def test_uses_fixture(shared_data):
    assert shared_data.is_dir()

@pytest.mark.shared
def test_marked():
    pass

def test_plain():
    pass
'''


def _run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    work = tmp_path / ("ci" if ci else "user")
    work.mkdir()
    shutil.copy(TESTS / "conftest.py", work / "conftest.py")
    (work / "test_probe.py").write_text(PROBE)
    (work / "pytest.ini").write_text("[pytest]\nmarkers =\n    shared: needs ../shared\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["KERAS_DEPTH_SHARED"] = str(tmp_path / "absent")
    if ci:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(work)],
                          capture_output=True, text=True, cwd=work, env=env, timeout=120)


def test_absent_shared_skips_with_reason_for_a_user(tmp_path):
    proc = _run(tmp_path, None)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "1 passed, 2 skipped" in proc.stdout
    reasons = [ln for ln in proc.stdout.splitlines() if ln.startswith("SKIPPED")]
    assert len(reasons) == 2 and all(str(tmp_path / "absent") in ln for ln in reasons)


def test_absent_shared_fails_under_ci(tmp_path):
    proc = _run(tmp_path, "true")
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "2 errors" in proc.stdout or "2 failed" in proc.stdout, proc.stdout[-2000:]
    assert "1 passed" in proc.stdout and "CI=true" in proc.stdout


@pytest.mark.shared
def test_present_shared_is_found(shared_dir):
    assert (shared_dir / "data").is_dir()


def _paths_module_at(package_dir: Path):
    """keras_depth/paths.py loaded from a copy at ``package_dir`` (a fake checkout or install)."""
    import importlib.util

    package_dir.mkdir(parents=True)
    shutil.copy(TESTS.parent / "keras_depth" / "paths.py", package_dir / "paths.py")
    spec = importlib.util.spec_from_file_location(f"paths_copy_{abs(hash(package_dir))}", package_dir / "paths.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("marker", [".git", "Makefile"])
def test_shared_is_beside_a_source_checkout(tmp_path, monkeypatch, marker):
    monkeypatch.delenv("KERAS_DEPTH_SHARED", raising=False)
    clone = tmp_path / "clone"
    paths = _paths_module_at(clone / "keras_depth")
    (clone / "pyproject.toml").write_text('[project]\nname = "keras-depth"\n')
    (clone / marker).write_text("gitdir: elsewhere\n")  # a git worktree's .git is a file
    assert paths.shared_dir() == tmp_path / "shared"
    monkeypatch.setenv("KERAS_DEPTH_SHARED", str(tmp_path / "mine"))
    assert paths.shared_path("data") == tmp_path / "mine" / "data"


@pytest.mark.parametrize("layout", ["site-packages", "another project's checkout"])
def test_shared_is_never_inside_an_install(tmp_path, monkeypatch, layout):
    # An installed package's ../shared would be a folder in the install prefix: without
    # KERAS_DEPTH_SHARED the folder must be one that does not exist, outside the prefix.
    monkeypatch.delenv("KERAS_DEPTH_SHARED", raising=False)
    prefix = tmp_path / "venv"
    site = prefix / "lib" / "python3.11" / "site-packages"
    paths = _paths_module_at(site / "keras_depth")
    (prefix / "lib" / "python3.11" / "shared" / "data").mkdir(parents=True)  # a decoy where ../shared would be
    if layout != "site-packages":
        (site / "pyproject.toml").write_text('[project]\nname = "someone-else"\n')
        (site / ".git").mkdir()
    root = paths.shared_dir()
    assert not root.exists() and not (root / "data").is_dir()
    assert prefix not in root.parents and str(root).startswith(os.devnull)
    assert "KERAS_DEPTH_SHARED" in root.name  # what the one-line "absent" messages tell the user to set
    monkeypatch.setenv("KERAS_DEPTH_SHARED", str(tmp_path / "mine"))
    assert paths.shared_dir() == tmp_path / "mine"


def test_this_checkout_reads_shared_beside_it(monkeypatch):
    from keras_depth.paths import shared_dir

    monkeypatch.delenv("KERAS_DEPTH_SHARED", raising=False)
    assert shared_dir() == TESTS.parent.parent / "shared"
