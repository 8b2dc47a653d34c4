"""What a converted TFLite model really runs: its op list (XNNPACK off) and the int8 checks an
integer-only deployment needs: no float compute op, no Flex (TF Select) op, no custom op."""
from __future__ import annotations

import dataclasses

import numpy as np

from keras_depth.runtime.tflite import load_interpreter

# Ops that may touch float at the model boundary (a float-IO model, or an int8 model's IO conversion).
BOUNDARY_OPS = ("QUANTIZE", "DEQUANTIZE")


@dataclasses.dataclass
class OpInfo:
    name: str
    inputs: list[str]  # dtype names of the op's tensor inputs (constants included)
    outputs: list[str]

    def __str__(self) -> str:
        return f"{self.name}({','.join(self.inputs)})->{','.join(self.outputs)}"


def list_ops(tflite: bytes) -> list[OpInfo]:
    it = load_interpreter(tflite, num_threads=1, delegates=False)
    td = it.get_tensor_details()
    dt = lambda i: np.dtype(td[i]["dtype"]).name  # noqa: E731
    return [OpInfo(op["op_name"], [dt(i) for i in op["inputs"] if i >= 0], [dt(i) for i in op["outputs"]])
            for op in it._get_ops_details()]


def int8_problems(ops: list[OpInfo]) -> list[str]:
    """Every op that breaks integer-only execution: float compute anywhere, Flex/custom ops, and
    QUANTIZE/DEQUANTIZE anywhere but the model's input (first ops) and output (last ops)."""
    problems = []
    for op in ops:
        if op.name.startswith("Flex") or op.name in ("CUSTOM", "DELEGATE") or not op.name.isupper():
            problems.append(f"non-builtin op {op}")
        elif op.name not in BOUNDARY_OPS and "float32" in op.inputs + op.outputs:
            problems.append(f"float op {op}")
    # QUANTIZE/DEQUANTIZE themselves pass (int requantizers, or IO converters at the boundary): a float
    # island inside the graph (DEQUANTIZE -> float op -> QUANTIZE) is caught by its float op above.
    return problems
