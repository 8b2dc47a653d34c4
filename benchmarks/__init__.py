"""Speed and accuracy figures, printed and written into docs/ (never asserted in tests). Each module
runs from the repository root as ``python -m benchmarks.NAME``; ``python -m benchmarks.run_all``
(``make bench``) runs them one after the other."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # where the scripts find configs, runs/ and docs/
