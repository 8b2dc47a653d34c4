"""The shipped models (``keras_depth.pretrained``): found by folder, resolved by name everywhere a
model is taken, listed by ``keras-depth models --pretrained``, the default of ``kd.load()`` and
``keras-depth predict``. Most tests point ``keras_depth.pretrained.ROOT`` at a folder made here,
holding test_predict's red model (``d = 1 + 3 R`` metres) under the shipped layout; one checks the
real package folder, whatever ships in it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras_depth.pretrained as pretrained
from keras_depth.cli import main
from keras_depth.errors import UsageError
from keras_depth.spec import DepthSpec
from test_predict import HW, expected_depth, ramp, red_model

REPO = Path(__file__).resolve().parents[1]
LICENCE = {"name": "Apache-2.0", "weights": "trained here"}


@pytest.fixture(scope="module")
def red_blob() -> bytes:
    from export.converters import convert_float32

    return convert_float32(red_model())


def ship(root: Path, name: str, blob: bytes, files=("model_int8_qat.tflite", "model_float32.tflite"), card: bool = True,
         semantics: str = "metric") -> Path:
    """A model folder as the distilled student will ship: each .tflite with its manifest (the card's
    camera and licence in ``metrics``) embedded and beside it, and MODEL_CARD.md."""
    from export.model_manifest import build_manifest
    from export.variants import write_tflite

    folder = root / name
    folder.mkdir(parents=True)
    spec = DepthSpec(min_depth=0.5, max_depth=5.0, semantics=semantics)
    for f in files:
        metrics = {"camera": {"hfov_deg": 63.0}, "licence": LICENCE}
        write_tflite(folder / f, blob, build_manifest(f, blob, "float32", spec, metrics=metrics))
    if card:
        (folder / "MODEL_CARD.md").write_text(f"# {name}\n")
    return folder


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "pretrained"
    folder.mkdir()
    monkeypatch.setattr(pretrained, "ROOT", folder)
    return folder


def test_the_package_folder_holds_only_complete_models():
    # Whatever ships: each model has its card, an int8 file whose manifest carries the camera and
    # the licence, and when several ship one of them is the named default.
    shipped = pretrained.shipped_models()
    folders = [d for d in pretrained.ROOT.iterdir() if d.is_dir() and d.name != "__pycache__"]
    assert sorted(m.name for m in shipped) == sorted(d.name for d in folders), "a model folder lacks MODEL_CARD.md or model_int8_qat.tflite"
    for m in shipped:
        assert isinstance(m.manifest.metrics["camera"]["hfov_deg"], (int, float)) and m.licence, m.name
    if len(shipped) > 1:
        assert pretrained.DEFAULT in {m.name for m in shipped}, "several models ship: set keras_depth.pretrained.DEFAULT"
    if not shipped:
        with pytest.raises(UsageError, match=r"^no model ships in this install; give --model PATH"):
            pretrained.resolve_model()


def test_only_folders_with_a_card_and_an_int8_model_ship(root, red_blob):
    ship(root, "beta", red_blob)
    ship(root, "alpha", red_blob, files=("model_int8_qat.tflite",))
    ship(root, "no_card", red_blob, card=False)
    ship(root, "float_only", red_blob, files=("model_float32.tflite",))
    (root / "README.txt").write_text("not a model")
    shipped = pretrained.shipped_models()
    assert [m.name for m in shipped] == ["alpha", "beta"]
    beta = shipped[1]
    assert beta.folder == root / "beta" and beta.card == root / "beta" / "MODEL_CARD.md"
    assert [f.name for f in beta.files] == ["MODEL_CARD.md", "model_float32.json", "model_float32.tflite",
                                            "model_int8_qat.json", "model_int8_qat.tflite"]
    assert (beta.semantics, beta.input_hw, beta.licence) == ("metric", HW, "Apache-2.0")


def test_names_variants_and_paths_resolve(root, red_blob, tmp_path, monkeypatch):
    ship(root, "alpha", red_blob)
    assert pretrained.resolve_model("alpha") == root / "alpha" / "model_int8_qat.tflite"
    assert pretrained.resolve_model("alpha:float32") == root / "alpha" / "model_float32.tflite"
    with pytest.raises(UsageError, match=r"^alpha:keras: .* has no model\.keras$"):
        pretrained.resolve_model("alpha:keras")
    with pytest.raises(UsageError, match=r"^alpha:fp16: unknown variant 'fp16'"):
        pretrained.resolve_model("alpha:fp16")
    # a path is itself; a name wins over a same-named entry of the working folder, a Path never is a name
    own = tmp_path / "own.tflite"
    own.write_bytes(b"x")
    assert pretrained.resolve_model(str(own)) == own
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alpha").mkdir()
    assert pretrained.resolve_model("alpha") == root / "alpha" / "model_int8_qat.tflite"
    assert pretrained.resolve_model(Path("alpha")) == Path("alpha")
    with pytest.raises(UsageError) as e:
        pretrained.resolve_model("no_such_model")
    assert str(e.value) == "model not found: no_such_model (no such file; the shipped models: alpha)"


def test_default_is_the_one_shipped_or_the_named_one(root, red_blob, monkeypatch):
    with pytest.raises(UsageError, match=r"^no model ships in this install; give --model PATH"):
        pretrained.default_model()
    ship(root, "beta", red_blob)
    assert pretrained.resolve_model() == root / "beta" / "model_int8_qat.tflite"
    ship(root, "alpha", red_blob)
    with pytest.raises(UsageError, match=r"^2 models ship \(alpha, beta\) and none is the default"):
        pretrained.default_model()
    monkeypatch.setattr(pretrained, "DEFAULT", "beta")
    assert pretrained.default_model().name == "beta"


def test_kd_load_without_a_path_runs_the_shipped_model(root, red_blob):
    import keras_depth as kd

    ship(root, "alpha", red_blob)
    rgb = ramp(64, 96)
    model = kd.load()
    assert model.source == str(root / "alpha" / "model_int8_qat.tflite")
    assert (model.semantics, model.input_hw, model.fov_deg) == ("metric", HW, 63.0)
    r = model.predict(rgb)
    inner = np.s_[:, 2:-2]
    np.testing.assert_allclose(r.metres[inner], expected_depth(rgb)[inner], atol=3.0 * 2 / 95 + 1e-3)
    assert kd.load("alpha:float32").source == str(root / "alpha" / "model_float32.tflite")


def test_predict_without_model_uses_the_shipped_one(root, red_blob, tmp_path, capsys):
    import cv2

    ship(root, "alpha", red_blob)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), ramp(64, 96)[..., ::-1])
    assert main(["predict", str(photo), "--out", str(tmp_path / "out")]) == 0
    depth = np.load(tmp_path / "out" / "photo.npy")
    assert depth.shape == (64, 96)
    # the model's card gives the camera (63 deg), so the point cloud is written without --fov
    assert (tmp_path / "out" / "photo.ply").is_file()


def test_predict_without_model_and_none_shipped_is_one_line(root, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"")
    assert main(["predict", str(photo), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: no model ships in this install; give --model PATH (in Python: kd.load(PATH))"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [
    ["demo", "--model", "no_such_model", "--input", "0", "--out", "{tmp}/d.mp4"],
    ["ar-eval", "--model", "no_such_model"],
    ["temporal", "--tflite", "no_such_model", "--out", "{tmp}/t"],
    ["evaluate", "quickstart", "--tflite", "no_such_model", "--out", "{tmp}/r"],
    ["benchmark", "quickstart", "--tflite", "no_such_model", "--out", "{tmp}/b"],
    ["fixtures", "no_such_model", "{tmp}/fx"],
], ids=lambda a: a[0])
def test_every_command_resolves_its_model_by_name(root, red_blob, tmp_path, capsys, argv):
    ship(root, "alpha", red_blob)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: model not found: no_such_model (no such file; the shipped models: alpha)"]


def test_evaluate_scores_a_shipped_model_by_name(root, red_blob, tmp_path, monkeypatch):
    # The name reaches the evaluation as the file: its report row is the shipped int8 file's.
    ship(root, "alpha", red_blob)
    monkeypatch.chdir(tmp_path)  # the synthetic set's cache goes under runs/ of the working folder
    out = tmp_path / "report"
    assert main(["evaluate", "quickstart", "--tflite", "alpha", "--limit", "2", "--no-baseline", "--out", str(out)]) == 0
    (row,) = json.loads((out / "report.json").read_text())["results"].values()
    assert row["id"]["path"] == str(root / "alpha" / "model_int8_qat.tflite") and row["n_images"] == 2


def _listing(capsys) -> list[str]:
    assert main(["models", "--pretrained"]) == 0
    return capsys.readouterr().out.splitlines()


def test_models_pretrained_lists_each_model_and_its_files(root, red_blob, capsys):
    assert _listing(capsys) == [f"no model ships in this install ({root} holds none); give --model PATH to predict"]
    folder = ship(root, "alpha", red_blob, semantics="relative")
    lines = _listing(capsys)
    assert lines[0] == f"1 shipped model(s) in {root}; the default (predict without --model): alpha"
    assert lines[1] == f"alpha: relative depth, input {HW[0]}x{HW[1]}, licence Apache-2.0; card {folder / 'MODEL_CARD.md'}"
    rows = {ln.split()[0]: ln.split()[1:] for ln in lines[2:]}
    assert set(rows) == {"MODEL_CARD.md", "model_float32.json", "model_float32.tflite", "model_int8_qat.json",
                         "model_int8_qat.tflite"}
    size = (folder / "model_int8_qat.tflite").stat().st_size
    assert rows["model_int8_qat.tflite"] == [f"{size / 1024:.1f}", "KiB", "--model", "alpha"]
    assert rows["model_float32.tflite"][2:] == ["--model", "alpha:float32"]
    assert rows["MODEL_CARD.md"] == [str(len("# alpha\n")), "B"]


def test_models_pretrained_imports_no_tensorflow(root, red_blob):
    ship(root, "alpha", red_blob)
    code = ("import sys; from pathlib import Path; import keras_depth.pretrained as p; "
            f"p.ROOT = Path({str(root)!r}); from keras_depth.cli import main; rc = main(['models', '--pretrained']); "
            "print('TF_LOADED' if any(m.split('.')[0] == 'tensorflow' for m in sys.modules) else 'TF_FREE', rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.stdout.splitlines()[-1] == "TF_FREE 0", proc.stdout + proc.stderr
    assert "alpha: metric depth" in proc.stdout
