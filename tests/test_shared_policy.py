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
