"""Where the project's shared real data and peer models live: one rule for every caller.

``KERAS_DEPTH_SHARED`` names the folder; without it, ``../shared`` beside the repository
checkout (the layout of a developer's clone and of CI). Nothing is downloaded: a missing folder is
reported, never fetched.
"""
from __future__ import annotations

import os
from pathlib import Path

from keras_depth.errors import UsageError

ENV_VAR = "KERAS_DEPTH_SHARED"
REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir(required: bool = False) -> Path:
    """The shared folder. With ``required``, a missing one is a one-line UsageError naming it."""
    env = os.environ.get(ENV_VAR)
    path = Path(env) if env else REPO_ROOT.parent / "shared"
    if required and not path.is_dir():
        raise UsageError(f"shared data folder {path} not found (set {ENV_VAR} to its location)")
    return path


def shared_path(*parts: str, required: bool = False) -> Path:
    """``shared_dir() / parts``; with ``required``, a missing path is a one-line UsageError."""
    path = shared_dir().joinpath(*parts)
    if required and not path.exists():
        raise UsageError(f"{path} not found (shared data: set {ENV_VAR} to its location)")
    return path
