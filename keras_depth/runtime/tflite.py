"""Run an exported ``.tflite`` through ai-edge-litert, driven by its manifest.

This is the Python twin of the Android ``depth-core``: the same manifest, the same steps
(docs/contracts.md section 4), so the evaluator and the desktop demo see what a phone sees.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from keras_depth.errors import UsageError
from keras_depth.geometry import resize_rgb
from keras_depth.runtime.manifest import Manifest, check_manifest_is_embedded_one, read_manifest
from keras_depth.spec import decode_output


def load_interpreter(model: str | os.PathLike | bytes, num_threads: int = 2, delegates: bool = True,
                     input_hw: Optional[tuple[int, int]] = None):
    """An allocated ai-edge-litert Interpreter (XNNPACK on by default; off to list the real ops).

    ``input_hw``: resize the first input to [1, h, w, C] before allocating; a graph with fixed sizes
    inside (a resize to constant shapes feeding an ADD) cannot, and raises a one-line UsageError."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs = {"num_threads": num_threads}
    if not delegates:
        kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    try:
        if isinstance(model, (bytes, bytearray)):
            it = Interpreter(model_content=bytes(model), **kwargs)
        else:
            if not Path(model).is_file():
                raise UsageError(f"model file not found: {model}")
            it = Interpreter(model_path=str(model), **kwargs)
        if input_hw is not None:
            d = it.get_input_details()[0]
            it.resize_tensor_input(d["index"], [1, int(input_hw[0]), int(input_hw[1]), int(d["shape"][3])], strict=False)
        it.allocate_tensors()
    except RuntimeError as e:  # what allocate_tensors raises when a resized graph's shapes do not fit
        if input_hw is None:
            raise
        raise UsageError(f"{model if not isinstance(model, bytes) else '<bytes>'}: cannot run at "
                         f"{input_hw[0]}x{input_hw[1]} ({str(e).splitlines()[0]})") from None
    except ValueError as e:
        raise UsageError(f"{model if not isinstance(model, bytes) else '<bytes>'}: not a loadable TFLite model ({str(e).splitlines()[0]})") from None
    return it


def normalize_rgb(rgb: np.ndarray, hw: tuple[int, int], channel_order: str, normalization: dict) -> np.ndarray:
    """uint8 RGB [H, W, 3] -> float32 [h, w, 3] as a model's input conventions say: the input resize,
    channel order, then ``pixel * scale + offset`` per channel (docs/contracts.md section 4)."""
    rgb = resize_rgb(rgb, hw)
    if channel_order == "BGR":
        rgb = rgb[..., ::-1]
    return rgb.astype(np.float32) * np.asarray(normalization["scale"], np.float32) + np.asarray(normalization["offset"], np.float32)


class TFLiteDepthEstimator:
    """RGB uint8 frame in, depth (or the raw output) out, following the manifest exactly."""

    def __init__(self, model_path: str | os.PathLike | bytes, manifest: Optional[Manifest] = None, num_threads: int = 2):
        """``model_path``: a ``.tflite`` file, or its bytes (then ``manifest`` is required)."""
        if isinstance(model_path, (bytes, bytearray)):
            if manifest is None:
                raise UsageError("TFLiteDepthEstimator: a model given as bytes needs its manifest")
            self.model_path = Path("<bytes>")
            self.interpreter = load_interpreter(bytes(model_path), num_threads=num_threads)
        else:
            self.model_path = Path(model_path)
            self.interpreter = load_interpreter(self.model_path, num_threads=num_threads)
        self.manifest = manifest or read_manifest(self.model_path)
        self._in = self.interpreter.get_input_details()[0]
        self._out = self.interpreter.get_output_details()[0]
        m = self.manifest.input
        expected = (1, m.height, m.width, m.channels)
        if tuple(self._in["shape"]) != expected:
            raise UsageError(f"{self.model_path}: input shape {tuple(self._in['shape'])} disagrees with manifest {expected}")
        if np.dtype(self._in["dtype"]).name != m.dtype:
            raise UsageError(f"{self.model_path}: input dtype {np.dtype(self._in['dtype']).name} disagrees with manifest {m.dtype}")
        o = self.manifest.output
        shape = tuple(int(v) for v in self._out["shape"])
        if len(shape) != 4 or shape[-1] != 1:
            raise UsageError(f"{self.model_path}: not a depth model: output shape {shape}, expected [1, height, width, 1] "
                             "(an image classifier?)")
        if shape[1:3] != (o.height, o.width):
            raise UsageError(f"{self.model_path}: output {shape[1]}x{shape[2]} disagrees with manifest {o.height}x{o.width}")
        if np.dtype(self._out["dtype"]).name != o.dtype:
            raise UsageError(f"{self.model_path}: output dtype {np.dtype(self._out['dtype']).name} disagrees with manifest {o.dtype}")
        if not isinstance(model_path, (bytes, bytearray)):
            check_manifest_is_embedded_one(self.model_path, self.manifest)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.manifest.input.height, self.manifest.input.width

    def preprocess(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 RGB [H, W, 3] (any size) -> the input tensor [1, h, w, 3] in the model's dtype."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise UsageError(f"expected an RGB uint8 image [H, W, 3], got {rgb.dtype} {rgb.shape}")
        m = self.manifest.input
        x = normalize_rgb(rgb, (m.height, m.width), m.channel_order, m.normalization)
        if m.dtype in ("uint8", "int8"):
            x = m.quantization.quantize(x, m.dtype)
        else:
            x = x.astype(m.dtype)
        return x[None]

    def run_tensor(self, x: np.ndarray) -> np.ndarray:
        """The raw output tensor, dequantized to float32 [h, w]."""
        self.interpreter.set_tensor(self._in["index"], x)
        self.interpreter.invoke()
        y = self.interpreter.get_tensor(self._out["index"])[0, ..., 0]
        o = self.manifest.output
        if o.dtype in ("uint8", "int8"):
            return o.quantization.dequantize(y)
        return y.astype(np.float32)

    def output_to_depth(self, y: np.ndarray) -> np.ndarray:
        """The dequantized output as depth, by the manifest's ``output.kind`` and ``range``."""
        o = self.manifest.output
        return decode_output(o.kind, o.range, y)

    def predict_depth(self, rgb: np.ndarray) -> np.ndarray:
        """Depth [h, w] at the model's resolution: metres if the manifest says metric, else relative."""
        return self.output_to_depth(self.run_tensor(self.preprocess(rgb)))

    def close(self) -> None:
        self.interpreter = None

    def __enter__(self) -> "TFLiteDepthEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
