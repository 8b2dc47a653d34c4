"""Model files: the one way a Keras model is written (atomically) and read back (checked first).

A model file can carry Python: a ``Lambda`` layer stores its function's bytecode, and a custom class
name can make the loader import and call code. Keras refuses ``Lambda`` in ``.keras`` files under
``safe_mode`` (as a traceback), but loads ``.h5`` files without any check. So before Keras sees a
file, ``check_model_file`` reads the model's config itself (``config.json`` in the ``.keras`` zip, the
``model_config`` attribute of the HDF5 file, with h5py) and refuses every class that is not on the
allow-list: Keras's own layers, initializers, regularizers and constraints (``Lambda`` excepted), the
classes keras-depth registers, and those of the scope the caller loads in (tfmot's for QAT models).
``unsafe=True`` (``--unsafe``) skips the check and loads with ``safe_mode`` off.

Float models are ``.keras`` files (``save_model_atomic``, ``load_trained_model``); QAT models are HDF5
(``save_qat_model``, ``load_qat_model``), loaded inside ``quantize_scope``.

Importing this module loads no TensorFlow: ``precheck_model_file`` (existence, format, code-carrying
classes) lets a subcommand refuse a bad model file in a fraction of a second, before its heavy imports.
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional

from keras_depth.errors import DataError, UsageError
from keras_depth.io import atomic_write_with
from keras_depth.spec import DepthSpec

if TYPE_CHECKING:
    from keras_depth.kerasapi import keras

CODE_CLASSES = ("Lambda", "__lambda__")
UNSAFE_HINT = "pass --unsafe only if you trust this file"
_ZIP, _HDF5 = b"PK\x03\x04", b"\x89HDF\r\n\x1a\n"
# The "module" a .keras config may name for a class; any other would be imported to find it.
_MODULES = ("keras", "tf_keras", "keras_depth", "tensorflow_model_optimization", "builtins")


def allowed_classes(scope: Any = None) -> set[str]:
    """Class names a model file may hold: Keras's (minus ``CODE_CLASSES``), keras-depth's registered
    ones, and those of ``scope`` (a ``keras.utils.custom_object_scope``)."""
    import keras_depth.models.layers  # noqa: F401  (registers keras-depth's layers)
    from keras_depth.kerasapi import keras

    namespaces = (keras.layers, keras.initializers, keras.regularizers, keras.constraints)
    names = {n for ns in namespaces for n, v in vars(ns).items() if isinstance(v, type)}
    names |= {"Functional", "Sequential", "Model"}
    # Registered classes are stored under "package>Name" (e.g. keras_depth>FixedRangeOutputConfig in a QAT model).
    registered = set(keras.saving.get_custom_objects())
    names |= registered | {k.split(">")[-1] for k in registered}
    for objects in getattr(scope, "custom_objects", ()) or ():
        names |= set(objects)
    return names - set(CODE_CLASSES)


def model_config(path: Path) -> dict:
    """The model's architecture config as stored in a ``.keras`` zip or an HDF5 file (DataError if the
    file is empty, truncated, or neither)."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise DataError(f"{path}: empty file (0 bytes), expected a Keras model (.keras or .h5)")
    try:
        if head.startswith(_ZIP):
            with zipfile.ZipFile(path) as z:
                text = z.read("config.json").decode("utf-8")
        elif head == _HDF5:
            import h5py

            with h5py.File(path, "r") as h5:
                raw = h5.attrs.get("model_config")
                if raw is None:
                    raise DataError(f"{path}: an HDF5 file without a model config (weights only?), expected a Keras model")
                text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        else:
            raise DataError(f"{path}: not a Keras model file (neither a .keras zip nor HDF5)")
        config = json.loads(text)
    except DataError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, UnicodeDecodeError, ValueError) as e:
        raise DataError(f"{path}: truncated or corrupt Keras model file ({type(e).__name__})") from None
    if not isinstance(config, dict):
        raise DataError(f"{path}: its model config is not a mapping")
    # Models load with compile=False: the optimizer, losses and metrics of a saved compile are never
    # deserialised, so only the architecture is checked.
    return {k: v for k, v in config.items() if k != "compile_config"}


def _class_dicts(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        if isinstance(node.get("class_name"), str):
            yield node
        for v in node.values():
            yield from _class_dicts(v)
    elif isinstance(node, list):
        for v in node:
            yield from _class_dicts(v)


def _what(d: dict) -> str:
    name = d["config"].get("name") if isinstance(d.get("config"), dict) else None
    return f"{d['class_name']} {name!r}" if name else d["class_name"]


def refuse_code(path: Path, config: dict) -> None:
    """UsageError naming ``path`` if ``config`` holds a Lambda (bytecode) or names a module to import."""
    for d in _class_dicts(config):
        if d["class_name"] in CODE_CLASSES or d.get("function_type") == "lambda":
            raise UsageError(f"{path}: refused to load: {_what(d)} holds Python code that would run "
                             f"(arbitrary code execution from a model file); {UNSAFE_HINT}")
        module = d.get("module")
        if isinstance(module, str) and module.split(".")[0] not in _MODULES:
            raise UsageError(f"{path}: refused to load: {_what(d)} comes from module {module!r}, which loading "
                             f"would import and run; {UNSAFE_HINT}")


def precheck_model_file(path: str | Path, unsafe: bool = False) -> Path:
    """``path`` if it is a Keras model file without code-carrying classes (``unsafe``: only readable);
    the one-line errors of ``load_trained_model`` without importing TensorFlow."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"model not found: {p}")
    if p.is_dir():
        raise UsageError(f"{p}: a folder, expected a Keras model file (.keras or .h5)")
    config = model_config(p)
    if not unsafe:
        refuse_code(p, config)
    return p


def check_model_file(path: Path, scope: Any = None) -> None:
    """UsageError naming ``path`` if its config holds a class that could run code when loaded."""
    config = model_config(path)
    refuse_code(path, config)
    allowed = allowed_classes(scope)
    for d in _class_dicts(config):
        cls, what = d["class_name"], _what(d)
        if cls not in allowed:
            raise UsageError(f"{path}: refused to load: class {what} is not one keras-depth builds (a custom class "
                             f"runs its own code when loaded); {UNSAFE_HINT}")


def load_trained_model(path: str | Path, unsafe: bool = False, scope: Any = None) -> keras.Model:
    """The Keras model in ``path`` (``.keras`` or ``.h5``), uncompiled, after ``check_model_file``
    (skipped with ``unsafe``). ``scope``: a custom-object scope to load in (e.g. tfmot's)."""
    from keras_depth.kerasapi import keras

    p = precheck_model_file(path, unsafe)
    if not unsafe:
        check_model_file(p, scope)
    kwargs: dict = {"compile": False}
    if open(p, "rb").read(4) == _ZIP:
        kwargs["safe_mode"] = not unsafe
    try:
        if scope is not None:
            with scope:
                return keras.models.load_model(p, **kwargs)
        return keras.models.load_model(p, **kwargs)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"{p}: cannot load the Keras model ({type(e).__name__}: {_first_line(e)})") from None


def _first_line(e: BaseException, limit: int = 200) -> str:
    text = (str(e).strip().splitlines() or [""])[0]
    return text[:limit]


def require_depth_model(model: keras.Model, path: Optional[str | Path] = None) -> keras.Model:
    """``model`` if it maps one image [B, H, W, 3] to one map [B, H', W', 1]; else a DataError naming
    ``path`` (an image classifier or a two-image model is not a depth model)."""
    where = path if path is not None else model.name
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise DataError(f"{where}: not a single-image depth model ({len(model.inputs)} inputs, {len(model.outputs)} outputs)")
    shape_in, shape_out = tuple(model.input_shape), tuple(model.output_shape)
    if len(shape_in) != 4 or shape_in[-1] != 3:
        raise DataError(f"{where}: not a depth model: input shape {shape_in}, expected [batch, height, width, 3]")
    if len(shape_out) != 4 or shape_out[-1] != 1:
        raise DataError(f"{where}: not a depth model: output shape {shape_out}, expected [batch, height, width, 1]")
    return model


def read_model_meta(path: str | Path, hw: tuple[int, int]) -> Optional[DepthSpec]:
    """How to read the output of the Keras model in ``path``, whose input is ``hw``: the spec of the
    ``model_meta.json`` that ``train`` wrote beside it (None when there is none). A DataError when the
    file is not one train wrote, or belongs to a model of another input size."""
    meta_path = Path(path).with_name("model_meta.json")
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        meta_hw, spec = (int(meta["input"]["height"]), int(meta["input"]["width"])), meta["spec"]
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(f"{meta_path}: not a model_meta.json written by train ({type(e).__name__})") from None
    if meta_hw != tuple(hw):
        raise DataError(f"{meta_path}: belongs to another model: it says input {meta_hw[0]}x{meta_hw[1]}, "
                        f"{path} takes {hw[0]}x{hw[1]}")
    return DepthSpec.from_dict(spec)


def save_model_atomic(model: keras.Model, path: str | os.PathLike) -> None:
    """``model.save`` into a temporary file, then rename: a crash never leaves a torn model file."""
    atomic_write_with(path, lambda tmp: model.save(tmp))


def quantize_scope():
    """tfmot's scope plus our custom layers and their QuantizeConfig (to save and load QAT models)."""
    from keras_depth.kerasapi import tfmot
    from keras_depth.models.quantize_configs import custom_objects

    return tfmot().quantization.keras.quantize_scope(custom_objects())


def save_qat_model(qat_model: keras.Model, path: str | os.PathLike) -> None:
    """A QAT model as HDF5 (``path`` ends in ``.h5``), loadable with ``load_qat_model``."""
    # HDF5: tfmot's QuantizeLayer does not reload from the .keras format (its variables are saved
    # under other names and load_model refuses them), while HDF5 round-trips exactly.
    with quantize_scope():
        save_model_atomic(qat_model, path)


def load_qat_model(path: str | Path, unsafe: bool = False) -> keras.Model:
    """A QAT model written by ``save_qat_model``, checked like every model file."""
    return load_trained_model(path, unsafe=unsafe, scope=quantize_scope())
