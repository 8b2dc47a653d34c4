"""Where the project's shared real data and peer models live: one rule for every caller.

``KERAS_DEPTH_SHARED`` names the folder; without it, ``../shared`` beside a source checkout (the
layout of a developer's clone and of CI). An installed package (a wheel in site-packages) has no
checkout around it, and ``../shared`` from there would be a folder inside the install prefix that
nobody put data in: there, without the variable, the folder is ``UNSET``, a path that cannot exist,
so every caller reports it absent. Nothing is downloaded: a missing folder is reported, never fetched.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

ENV_VAR = "KERAS_DEPTH_SHARED"
REPO_ROOT = Path(__file__).resolve().parents[1]
# A child of the null device: no folder can be made there, and its name says what to set.
UNSET = Path(os.devnull) / f"{ENV_VAR}-is-unset"


def _source_checkout() -> Optional[Path]:
    """The checkout this package is imported from, or None for an installed copy: a checkout's root
    holds this project's pyproject.toml and its .git (a folder, or a file in a git worktree) or
    Makefile; site-packages holds neither."""
    pyproject = REPO_ROOT / "pyproject.toml"
    if not pyproject.is_file() or not ((REPO_ROOT / ".git").exists() or (REPO_ROOT / "Makefile").is_file()):
        return None
    try:
        ours = 'name = "keras-depth"' in pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return REPO_ROOT if ours else None


def shared_dir() -> Path:
    """The shared folder (whether or not it exists: each caller says what it needs from it)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    checkout = _source_checkout()
    return checkout.parent / "shared" if checkout is not None else UNSET


def shared_path(*parts: str) -> Path:
    return shared_dir().joinpath(*parts)
