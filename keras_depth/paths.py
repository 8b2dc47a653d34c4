"""Where the project's shared real data and peer models live: one rule for every caller.

``KERAS_DEPTH_SHARED`` names the folder; without it, ``../shared`` beside the repository
checkout (the layout of a developer's clone and of CI). Nothing is downloaded: a missing folder is
reported, never fetched.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "KERAS_DEPTH_SHARED"
REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The shared folder (whether or not it exists: each caller says what it needs from it)."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    return shared_dir().joinpath(*parts)
