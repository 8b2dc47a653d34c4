"""docs/cli.md is what tools/cli_doc.py writes from the CLI's parsers, and the staleness check can fail."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "cli_doc.py"


def _tool(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    # Another terminal width and working folder than the committed file was written with: the output
    # must not depend on either.
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "COLUMNS": "37"})


def test_committed_cli_reference_is_up_to_date(tmp_path):
    proc = _tool("--check", cwd=tmp_path)
    assert proc.returncode == 0, f"{proc.stderr.strip()} (run `python tools/cli_doc.py`)"


def test_check_fails_on_a_stale_file(tmp_path):
    out = tmp_path / "cli.md"
    assert _tool("--out", str(out)).returncode == 0
    text = out.read_text()
    from keras_depth.cli import COMMANDS

    assert text.startswith("# Command-line reference\n") and "python tools/cli_doc.py" in text
    assert all(f"## keras-depth {name}\n" in text for name in COMMANDS)
    assert _tool("--check", "--out", str(out)).returncode == 0

    out.write_text(text.replace("## keras-depth train\n", "## keras-depth train (edited by hand)\n"))
    proc = _tool("--check", "--out", str(out))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "stale" in lines[0] and str(out) in lines[0], proc.stderr
    assert proc.stdout == ""
