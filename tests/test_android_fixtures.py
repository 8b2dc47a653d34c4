"""The depth-core golden fixtures are current: rebuilding the tiny model and rewriting them gives
what is committed. The tiny int8 conversion has so far been bit-reproducible; should a
TensorFlow upgrade change calibration rounding, integers may move by one LSB and floats by float
rounding, which is the tolerance here (the Kotlin tests allow the same)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from export.fixtures import FIXTURE_FILES, build_tiny_model, occlusion_reference, synthetic_argb, write_fixtures

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "android_demo" / "depth-core" / "src" / "test" / "resources" / "fixtures"
REGENERATE = "keras-depth fixtures --tiny android_demo/depth-core/src/test/resources/fixtures"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("fixtures")
    model = build_tiny_model(tmp / "model")
    write_fixtures(model, tmp / "out")
    return tmp / "out"


def _assert_close(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), f"{where}: keys differ"
        for k in a:
            _assert_close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and a and all(isinstance(v, (int, float)) or v is None for v in a):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: lengths differ"
        x = np.array([np.inf if v is None else v for v in a], np.float64)
        y = np.array([np.inf if v is None else v for v in b], np.float64)
        assert np.array_equal(np.isinf(x), np.isinf(y)), f"{where}: absent entries differ"
        fin = np.isfinite(x)
        if all(isinstance(v, int) for v in a):
            assert np.abs(x - y).max(initial=0) <= 1, f"{where}: integers differ by more than 1 LSB"
        else:
            np.testing.assert_allclose(y[fin], x[fin], rtol=1e-5, atol=1e-6, err_msg=where)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: lengths differ"
        for i, (u, v) in enumerate(zip(a, b)):
            _assert_close(u, v, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=1e-6), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_committed_fixtures_are_current(regenerated: Path, name: str) -> None:
    committed = COMMITTED / name
    assert committed.is_file(), f"{committed} is missing; run {REGENERATE}"
    _assert_close(json.loads(committed.read_text()), json.loads((regenerated / name).read_text()), f"{name} (regenerate with: {REGENERATE})")


def test_fixtures_stay_small() -> None:
    total = sum((COMMITTED / n).stat().st_size for n in FIXTURE_FILES)
    assert total < 300_000, f"fixtures are {total} bytes"


def test_fixtures_exercise_resize_clip_and_occlusion() -> None:
    pre = json.loads((COMMITTED / "preprocess.json").read_text())
    sizes = {(c["width"], c["height"]) for c in pre["cases"]}
    assert any(h < pre["input_height"] for _, h in sizes) and any(h > pre["input_height"] for _, h in sizes)
    post = json.loads((COMMITTED / "postprocess.json").read_text())
    assert max(post["depth"]) == pytest.approx(10.0)  # some disparities clipped at range lo = 0.1
    occ = json.loads((COMMITTED / "occlusion.json").read_text())
    present = sum(v is not None for v in occ["object_depth"])
    assert 0 < sum(occ["visible"]) < present


def test_occlusion_reference_by_hand() -> None:
    scene = np.array([[1.0, 2.0, np.nan, 1.5]], np.float32)
    obj_depth = np.array([[1.5, 1.5, 1.5, 1.5]], np.float32)
    red = np.full((1, 4), 0xFFFF0000, np.uint32)
    bg = np.full((1, 4), 0xFF323232, np.uint32)
    visible, out = occlusion_reference(bg, scene, red, obj_depth)
    assert visible.tolist() == [[False, True, False, False]]
    assert out.tolist() == [[0xFF323232, 0xFFFF0000, 0xFF323232, 0xFF323232]]
    half = np.full((1, 4), 0x80FF0000, np.uint32)
    _, out = occlusion_reference(bg, scene, half, obj_depth)
    assert int(out[0, 1]) == 0xFF991919  # (255*128 + 50*127 + 127) // 255 = 153, (50*127 + 127) // 255 = 25


def test_synthetic_argb_is_opaque() -> None:
    a = synthetic_argb(5, 3)
    assert a.shape == (3, 5) and a.dtype == np.uint32 and np.all(a >> 24 == 255)


def test_fixtures_command_needs_a_model_or_tiny(tmp_path, capsys) -> None:
    from keras_depth.cli import main

    assert main(["fixtures", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--tiny" in err[0]
