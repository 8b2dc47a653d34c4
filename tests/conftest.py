"""Shared test fixtures. Real data lives in ../shared (read-only; never copied into the project)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import keras_depth  # noqa: F401  (sets TF_USE_LEGACY_KERAS before any test imports TensorFlow)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KERAS_DEPTH_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared data not found at {SHARED} (set KERAS_DEPTH_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def shared_data(shared_dir: Path) -> Path:
    return shared_dir / "data"
