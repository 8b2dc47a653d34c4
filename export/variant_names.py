"""The names of the export variants and interface dtypes, without importing TensorFlow (the CLI's
``--help`` lists them)."""
from __future__ import annotations

VARIANTS = ("saved_model", "float32", "float16", "int8_dynamic", "int8_ptq", "int8_qat", "int16x8", "int8_float_out")
TFLITE_VARIANTS = VARIANTS[1:]
INTEGER_IO_VARIANTS = ("int8_ptq", "int8_qat")  # take export.io_dtype at input and output
# int16x8: PTQ in TFLite's 16x8 mode (int16 activations, int8 weights), float32 interface (QUANTIZE /
# DEQUANTIZE inside the graph). int8_float_out: the int8_ptq body with export.io_dtype in, float32 out.
# The interface of the full-integer variants (export.io_dtype).
IO_DTYPE_NAMES = ("float32", "int8", "uint8")
