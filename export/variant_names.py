"""The names of the export variants and interface dtypes, without importing TensorFlow (the CLI's
``--help`` lists them)."""
from __future__ import annotations

VARIANTS = ("saved_model", "float32", "float16", "int8_dynamic", "int8_ptq", "int8_qat")
TFLITE_VARIANTS = VARIANTS[1:]
INTEGER_IO_VARIANTS = ("int8_ptq", "int8_qat")
# The interface of the full-integer variants (export.io_dtype).
IO_DTYPE_NAMES = ("float32", "int8", "uint8")
