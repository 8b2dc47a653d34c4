"""Loading a teacher of each kind (``keras_depth.teacher_spec`` says what a teacher block holds):
TFLite and peers (ai-edge-litert), ONNX (onnxruntime), Keras/SavedModel, and precomputed label
folders. Every failure is one line naming the file: missing, truncated, not a depth model (input
count, rank, channels; output map shape), or a manifest that disagrees with the file."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional

import numpy as np

from keras_depth.distill.teacher import (Teacher, fingerprint_path, input_layout, input_normalization, label_domain,
                                         output_map)
from keras_depth.errors import DataError, UsageError
from keras_depth.runtime.manifest import Manifest, read_manifest
from keras_depth.runtime.peers import PEERS, peer_manifest, peer_path
from keras_depth.teacher_spec import TeacherSpec

PRECOMPUTED_EXTS = (".npy", ".pfm", ".png")


def _tflite_teacher(spec: TeacherSpec, where: str, num_threads: int) -> Teacher:
    from keras_depth.runtime.tflite import load_interpreter

    if spec.kind == "peer":
        path, manifest = peer_path(spec.path), peer_manifest(spec.path)
    else:
        path = Path(spec.path).expanduser()
        if not path.is_file():
            raise UsageError(f"{where}.path: teacher file not found: {path}")
        manifest = None
    it = load_interpreter(path, num_threads=num_threads)  # a truncated or foreign file fails here, one line
    if spec.kind == "tflite":
        manifest = _optional_manifest(path)
    ins, outs = it.get_input_details(), it.get_output_details()
    if len(ins) != 1:
        raise UsageError(f"{path}: not a depth model (expected 1 input, got {len(ins)})")
    layout, hw = input_layout([int(v) for v in ins[0]["shape"]], str(path))
    if spec.output_index >= len(outs):
        raise UsageError(f"{where}.output_index: {spec.output_index}, but {path} has {len(outs)} output(s)")
    out = outs[spec.output_index]
    oshape = [int(v) for v in out["shape"]]
    if len(oshape) not in (3, 4) or (len(oshape) == 4 and 1 not in (oshape[1], oshape[3])):
        raise UsageError(f"{path}: not a depth model (expected one output map [1, h, w, 1], got shape {oshape})")
    in_dtype = np.dtype(ins[0]["dtype"])
    if manifest is not None:
        m = manifest.input
        if (m.height, m.width) != hw or m.dtype != in_dtype.name:
            raise UsageError(f"{path}: the manifest says input {m.height}x{m.width} {m.dtype}, the file has "
                             f"{hw[0]}x{hw[1]} {in_dtype.name}")
        if spec.semantics is not None and spec.semantics != manifest.output.semantics:
            raise UsageError(f"{where}.semantics: {spec.semantics!r}, but the manifest of {path} says "
                             f"{manifest.output.semantics!r}")
    semantics = spec.semantics or (manifest.output.semantics if manifest else None)
    if semantics is None:
        raise UsageError(f"{where}.semantics: required for {path} (no manifest beside or inside it)")
    normalization = input_normalization(spec.normalization or (manifest.input.normalization if manifest else None), where)
    channel_order = spec.channel_order or (manifest.input.channel_order if manifest else "RGB")
    output_kind = spec.output_kind or (manifest.output.kind if manifest else "depth")
    in_scale, in_zp = ins[0]["quantization"]
    quantize = _quantizer(in_dtype, in_scale, in_zp) if in_dtype.kind in "iu" else None
    out_scale, out_zp = out["quantization"]
    out_int = np.dtype(out["dtype"]).kind in "iu"

    def run(x: np.ndarray) -> np.ndarray:
        it.set_tensor(ins[0]["index"], x)
        it.invoke()
        y = output_map(it.get_tensor(out["index"]), str(path))
        return (y - out_zp) * out_scale if out_int else y

    return Teacher(spec, run, hw, semantics, output_kind, normalization, channel_order, in_dtype.name, quantize,
                   layout, fingerprint_path(path))


def _quantizer(dtype: np.dtype, scale: float, zero_point: int):
    info = np.iinfo(dtype)

    def quantize(x: np.ndarray) -> np.ndarray:
        return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)

    return quantize


def _optional_manifest(path: Path) -> Optional[Manifest]:
    try:
        return read_manifest(path)
    except UsageError as e:
        if "no manifest" in str(e).lower() or "not found" in str(e).lower():
            return None
        raise


def _onnx_teacher(spec: TeacherSpec, where: str, num_threads: int) -> Teacher:
    path = Path(spec.path).expanduser()
    if not path.is_file():
        raise UsageError(f"{where}.path: teacher file not found: {path}")
    try:
        import onnxruntime as ort
    except ImportError:
        raise UsageError(f"{where}: an ONNX teacher needs onnxruntime: pip install \"keras-depth[onnx]\"") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = num_threads
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 -- onnxruntime raises its own exception types for bad files
        raise UsageError(f"{path}: not a loadable ONNX model ({str(e).splitlines()[0][:160]})") from None
    ins, outs = sess.get_inputs(), sess.get_outputs()
    if len(ins) != 1:
        raise UsageError(f"{path}: not a depth model (expected 1 input, got {len(ins)})")
    layout, hw = input_layout(list(ins[0].shape), str(path))
    if spec.input_size is not None:
        if hw is not None and tuple(spec.input_size) != hw:
            raise UsageError(f"{where}.input_size: {spec.input_size}, but {path} takes {list(hw)}")
        hw = tuple(spec.input_size)
    if hw is None:
        raise UsageError(f"{where}.input_size: required for {path} (its input size is not fixed)")
    if spec.output_index >= len(outs):
        raise UsageError(f"{where}.output_index: {spec.output_index}, but {path} has {len(outs)} output(s)")
    if spec.semantics is None:
        raise UsageError(f"{where}.semantics: required for an ONNX teacher")
    dtype = {"tensor(float)": "float32", "tensor(uint8)": "uint8", "tensor(float16)": "float16"}.get(ins[0].type)
    if dtype is None:
        raise UsageError(f"{path}: input type {ins[0].type} is not supported (float, float16 or uint8)")
    in_name, out_name = ins[0].name, outs[spec.output_index].name

    def run(x: np.ndarray) -> np.ndarray:
        return output_map(sess.run([out_name], {in_name: x})[0], str(path))

    quantize = (lambda x: np.clip(np.round(x), 0, 255).astype(np.uint8)) if dtype == "uint8" else None
    return Teacher(spec, run, hw, spec.semantics, spec.output_kind or "depth", input_normalization(spec.normalization, where),
                   spec.channel_order or "RGB", dtype, quantize, layout, fingerprint_path(path))


def _keras_teacher(spec: TeacherSpec, where: str, num_threads: int, unsafe: bool = False) -> Teacher:
    import tensorflow as tf

    path = Path(spec.path).expanduser()
    if not path.exists():
        raise UsageError(f"{where}.path: teacher file not found: {path}")
    if spec.semantics is None:
        raise UsageError(f"{where}.semantics: required for a Keras teacher")
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise UsageError(f"{path}: not a SavedModel folder (no saved_model.pb)")
        from keras_depth.runtime.saved_model import saved_model_predict

        forward = saved_model_predict(path)
        if spec.input_size is None:
            raise UsageError(f"{where}.input_size: required for a SavedModel teacher")
        hw = tuple(spec.input_size)
    else:
        from keras_depth.models.io import load_trained_model

        model = load_trained_model(path, unsafe=unsafe)
        if len(model.inputs) != 1:
            raise UsageError(f"{path}: not a depth model (expected 1 input, got {len(model.inputs)})")
        shape = [int(v) if v is not None else None for v in model.input_shape[1:]]
        layout, hw = input_layout([1, *shape], str(path))
        if layout != "NHWC":
            raise UsageError(f"{path}: a Keras teacher must take NHWC input")
        if spec.input_size is not None:
            hw = tuple(spec.input_size)
        if hw is None:
            raise UsageError(f"{where}.input_size: required for {path} (its input size is not fixed)")
        fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

        def forward(x: np.ndarray) -> np.ndarray:
            y = fn(x)
            return (y[spec.output_index] if isinstance(y, (list, tuple)) else y).numpy()

    def run(x: np.ndarray) -> np.ndarray:
        return output_map(forward(x), str(path))

    return Teacher(spec, run, hw, spec.semantics, spec.output_kind or "depth", input_normalization(spec.normalization, where),
                   spec.channel_order or "RGB", "float32", None, "NHWC", fingerprint_path(path))


class PrecomputedTeacher(Teacher):
    """Depth maps made elsewhere, one file per frame named ``label_name(frame key)`` + extension."""

    def __init__(self, spec: TeacherSpec, where: str):
        root = Path(spec.path).expanduser()
        if not root.is_dir():
            raise UsageError(f"{where}.path: precomputed-label folder not found: {root}")
        if spec.semantics is None:
            raise UsageError(f"{where}.semantics: required for precomputed labels")
        files = {p.stem: p for p in sorted(root.iterdir()) if p.suffix.lower() in PRECOMPUTED_EXTS}
        if not files:
            raise UsageError(f"{root}: no depth maps ({', '.join(PRECOMPUTED_EXTS)}) in the precomputed-label folder")
        listing = json.dumps(sorted((k, p.name, p.stat().st_size, p.stat().st_mtime_ns) for k, p in files.items()))
        super().__init__(spec, None, (0, 0), spec.semantics, spec.output_kind or label_domain(spec.semantics),
                         {}, "RGB", "float32", None, "NHWC", hashlib.sha256(listing.encode()).hexdigest())
        self.root, self.files = root, files

    def check_names(self, keys: list[str]) -> None:
        """Every frame has its file, and every file its frame: else a UsageError naming the first."""
        names = [label_name(k) for k in keys]
        missing = [n for n in names if n not in self.files]
        if missing:
            raise UsageError(f"{self.root}: no precomputed label for frame {missing[0]!r} "
                             f"({len(missing)} of {len(names)} frames have none; expected {missing[0]}.npy/.pfm/.png)")
        extra = sorted(set(self.files) - set(names))
        if extra:
            raise UsageError(f"{self.root}: precomputed label {self.files[extra[0]].name} matches no frame of the "
                             f"sources ({len(extra)} such file(s)); names are <source>__<frame>")

    def label_for(self, key: str, frame_hw: tuple[int, int]) -> np.ndarray:
        """The label of frame ``key`` in the label domain, at the frame's size (aspect checked)."""
        from keras_depth.data.readers.decode import read_depth

        path = self.files[label_name(key)]
        try:
            raw, valid = read_depth(path, None, 1.0)
        except DataError as e:
            raise UsageError(str(e)) from None
        h, w = raw.shape[:2]
        if abs(h / w - frame_hw[0] / frame_hw[1]) > 0.02 * frame_hw[0] / frame_hw[1]:
            raise UsageError(f"{path}: {w}x{h} does not have the aspect of its frame {frame_hw[1]}x{frame_hw[0]}")
        self.calls += 1
        y = self.to_domain(np.where(valid, raw, 0.0))
        if (h, w) != tuple(frame_hw):
            import cv2

            y = cv2.resize(y, (frame_hw[1], frame_hw[0]), interpolation=cv2.INTER_NEAREST)
        return y


def label_name(key: str) -> str:
    """The file stem a precomputed label of frame ``key`` (``source/frame``) has: ``source__frame``."""
    return key.replace("/", "__")


def load_teacher(spec: TeacherSpec, where: str = "teacher", num_threads: int = 2, unsafe: bool = False) -> Teacher:
    """The ``Teacher`` of a ``teacher:`` block; one-line errors name the file for a missing, truncated
    or non-depth model, and a manifest that disagrees with it. ``where``: the block's key in errors."""
    if spec.kind in ("tflite", "peer"):
        if spec.kind == "peer" and spec.path not in PEERS:
            raise UsageError(f"{where}.path: peer {spec.path!r} is unknown (expected one of: {', '.join(PEERS)})")
        return _tflite_teacher(spec, where, num_threads)
    if spec.kind == "onnx":
        return _onnx_teacher(spec, where, num_threads)
    if spec.kind == "keras":
        return _keras_teacher(spec, where, num_threads, unsafe)
    return PrecomputedTeacher(spec, where)


def teacher_from_path(path: str | os.PathLike, semantics: Optional[str] = None) -> TeacherSpec:
    """The teacher block of a file (the CLI's ``--teacher PATH``): the kind guessed by extension."""
    p = Path(path)
    kind = {".tflite": "tflite", ".onnx": "onnx", ".keras": "keras", ".h5": "keras"}.get(p.suffix.lower())
    if kind is None:
        kind = "keras" if (p / "saved_model.pb").is_file() else ("precomputed" if p.is_dir() else None)
    if kind is None:
        if str(path) in PEERS:
            kind = "peer"
        else:
            raise UsageError(f"--teacher {path}: expected a .tflite, .onnx, .keras file, a SavedModel or label folder, or a peer name")
    spec = TeacherSpec(kind=kind, path=str(path), semantics=semantics or None)
    spec.check(f"--teacher {path}")
    return spec
