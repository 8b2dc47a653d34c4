"""Shared test fixtures. Real data lives in ../shared (read-only; never copied into the project).

A test that needs it asks for the ``shared_dir`` or ``shared_data`` fixture, or carries
``@pytest.mark.shared``. On a user's fresh clone, where the folder is absent, such tests skip with a
one-line reason; under ``CI=true`` its absence is a failure, so CI can never pass by skipping them.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs one pytest worker per core (pytest-xdist, whole files per worker). Each worker
    # then takes one core's worth of threads: the tiny models of the tests are mostly Python- and
    # op-overhead-bound, so two single-threaded workers beat one two-threaded process
    # (docs/architecture.md). Set before any test imports TensorFlow; CLI subprocesses inherit it.
    for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(var, "1")

import keras_depth  # noqa: F401  (sets TF_USE_LEGACY_KERAS before any test imports TensorFlow)
from keras_depth.paths import ENV_VAR, shared_dir as _shared_dir

SHARED_FIXTURES = ("shared_dir", "shared_data")


def shared_missing_reason() -> str | None:
    root = _shared_dir()
    if (root / "data").is_dir():
        return None
    return f"needs the shared real data at {root} (absent; set {ENV_VAR})"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = shared_missing_reason()
    if reason is None or _in_ci():
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.get_closest_marker("shared") or any(f in getattr(item, "fixturenames", ()) for f in SHARED_FIXTURES):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    reason = shared_missing_reason()
    if reason is not None:
        # Reached only under CI=true (elsewhere the test was skipped at collection).
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    return _shared_dir()


@pytest.fixture(scope="session")
def shared_data(shared_dir: Path) -> Path:
    return shared_dir / "data"


@pytest.fixture(autouse=True)
def _shared_marker_in_ci(request: pytest.FixtureRequest) -> None:
    # A @pytest.mark.shared test that does not take the fixture still fails loudly under CI=true.
    if request.node.get_closest_marker("shared"):
        request.getfixturevalue("shared_dir")
