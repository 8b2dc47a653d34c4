"""The package as a user gets it: a wheel of this tree, installed offline into a fresh venv and run
from a folder outside the checkout with no KERAS_DEPTH_SHARED.

The wheel is built from a copy of the tree (pyproject.toml, README.md, keras_depth/, export/), so the
build leaves nothing in the checkout. When no model ships yet, the copy gets test_predict's red model
(``d = 1 + 3 R`` metres) as ``keras_depth/pretrained/tiny_red/``: the wheel must carry a model folder
as package data, and predict without ``--model`` must find it in the installed package. Nothing is
downloaded: the new venv reaches the dependencies through a ``.pth`` line naming the dev venv's
site-packages, a plain path whose own ``.pth`` files (the editable install's finder, which would
import this checkout) Python never runs."""
from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

import keras_depth.pretrained as pretrained
from test_predict import expected_depth, ramp

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PHOTO_HW = (60, 90)  # not the model's size or aspect: outputs come back at the photo's
INJECTED = "tiny_red"


def test_pyproject_declares_what_users_run():
    project = PYPROJECT["project"]
    names = {re.split(r"[\s<>=!~\[;]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    assert "tensorboard" in names  # the run folders' logs are opened with it
    assert "onnxruntime" not in names
    assert any(d.startswith("onnxruntime") for d in project["optional-dependencies"]["onnx"])


def test_an_onnx_teacher_without_onnxruntime_names_the_extra(tmp_path, monkeypatch):
    from keras_depth.distill.teachers import load_teacher
    from keras_depth.errors import UsageError
    from keras_depth.teacher_spec import TeacherSpec

    model = tmp_path / "teacher.onnx"
    model.write_bytes(b"\x08\x07")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    with pytest.raises(UsageError) as e:
        load_teacher(TeacherSpec(kind="onnx", path=str(model), semantics="relative"))
    assert str(e.value) == 'teacher: an ONNX teacher needs onnxruntime: pip install "keras-depth[onnx]"'


def _run(argv: list, cwd: Path, env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{argv}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _source_copy(dest: Path) -> Path:
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, dest / name)
    for pkg in ("keras_depth", "export"):
        shutil.copytree(REPO / pkg, dest / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def _dev_site_packages() -> list[str]:
    # purelib/platlib of the interpreter running the tests (the dev venv): the dependencies are there
    paths = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()]
    # The dev venv may live inside the checkout (.venv, as make sets it up): its site-packages holds no
    # project source, only the editable install's .pth, which a .pth line's directory never runs.
    return [p for p in dict.fromkeys(paths) if Path(p).is_dir() and Path(p).resolve() != REPO.resolve()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("wheel")
    src = _source_copy(tmp / "src")
    if not pretrained.shipped_models():
        from test_pretrained import ship
        from export.converters import convert_float32
        from test_predict import red_model

        ship(src / "keras_depth" / "pretrained", INJECTED, convert_float32(red_model()))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "KERAS_DEPTH_SHARED", "VIRTUAL_ENV")}
    env.update(PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, src],
         tmp, env)
    (wheel,) = dist.glob("keras_depth-*.whl")
    venv = tmp / "venv"
    _run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", venv], tmp, env)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel], tmp, env)
    # Only now the dependencies: pip above saw a bare venv, so it neither found nor touched the dev
    # venv's keras-depth.
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env).stdout.strip())
    (purelib / "_keras_depth_test_dependencies.pth").write_text("\n".join(_dev_site_packages()) + "\n")
    work = tmp / "work"  # outside the checkout and the venv
    work.mkdir()
    return {"wheel": wheel, "venv": venv, "python": python, "work": work, "env": env}


def test_the_wheel_carries_the_model_folders(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    shipped = [m.name for m in pretrained.shipped_models()] or [INJECTED]
    for name in shipped:
        for f in ("MODEL_CARD.md", "model_int8_qat.tflite", "model_int8_qat.json"):
            assert f"keras_depth/pretrained/{name}/{f}" in names
    assert "keras_depth/configs/quickstart.yaml" in names
    assert not any(n.startswith("tests/") for n in names)


def test_installed_package_is_the_wheel_and_shared_is_outside_it(installed):
    code = ("import sys, keras_depth, keras_depth.paths as p; "
            "print(keras_depth.__file__); print(p.shared_dir()); print(p.shared_dir().exists()); print(sys.prefix)")
    out = _run([installed["python"], "-c", code], installed["work"], installed["env"]).stdout.splitlines()
    venv = installed["venv"].resolve()
    assert Path(out[0]).resolve().is_relative_to(venv), out[0]  # not this checkout through the dev venv
    assert Path(out[3]).resolve() == venv
    shared = Path(out[1])
    assert out[2] == "False" and not shared.resolve().is_relative_to(venv)


def test_installed_predict_and_listing_use_the_shipped_model(installed):
    import cv2

    work = installed["work"]
    rgb = ramp(*PHOTO_HW)
    cv2.imwrite(str(work / "photo.png"), rgb[..., ::-1])
    listing = _run([installed["venv"] / "bin" / "keras-depth", "models", "--pretrained"], work, installed["env"]).stdout
    default = pretrained.default_model().name if pretrained.shipped_models() else INJECTED
    assert f"the default (predict without --model): " in listing and f"\n{default}: " in listing
    assert str(installed["venv"].resolve()) in listing  # its card is in the install

    _run([installed["venv"] / "bin" / "keras-depth", "predict", "photo.png", "--out", "out/"], work, installed["env"])
    depth = np.load(work / "out" / "photo.npy")
    png = cv2.imread(str(work / "out" / "photo.png"))
    assert depth.shape == PHOTO_HW and png.shape[0] >= PHOTO_HW[0] and png.shape[1] >= PHOTO_HW[1]
    if not pretrained.shipped_models():  # the injected red model: its values are known
        inner = np.isfinite(depth)
        inner[:, :3] = inner[:, -3:] = False
        assert inner.sum() > depth.size // 2
        np.testing.assert_allclose(depth[inner], expected_depth(rgb)[inner], atol=0.15)


def test_installed_readme_python_example_runs(installed):
    from test_readme import README, _code

    block = next(c for c in _code(README.read_text(encoding="utf-8")) if "kd.load(" in c)
    default = pretrained.default_model().name if pretrained.shipped_models() else INJECTED
    # The quickstart's path in the README is a model this venv lacks: the shipped model, by name.
    code = re.sub(r'kd\.load\("[^"]+"\)', f"kd.load({default!r})", block)
    script = installed["work"] / "readme_example.py"
    script.write_text("import numpy as np\n"
                      f"rgb = np.random.default_rng(0).integers(0, 256, ({PHOTO_HW[0]}, {PHOTO_HW[1]}, 3)).astype(np.uint8)\n"
                      + code +
                      "\nprint(type(depth).__name__, depth.metres.shape, model.source)\n")
    out = _run([installed["python"], script], installed["work"], installed["env"]).stdout.strip().splitlines()[-1]
    name, shape, source = out.split(" ", 1)[0], out[out.index("("):out.index(")") + 1], out.rsplit(" ", 1)[1]
    assert name == "DepthResult" and shape == str(PHOTO_HW)
    assert Path(source).resolve().is_relative_to(installed["venv"].resolve())
