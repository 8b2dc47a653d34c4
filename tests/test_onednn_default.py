"""oneDNN off by default on x86 CPUs without AVX-512 (keras_depth/__init__.py), never over the user's choice."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from keras_depth import _wide_vector_cpu


@pytest.mark.parametrize("text,wide", [
    ("processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma f16c\n", False),            # AVX2 only: oneDNN off
    ("flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n", True),       # AVX-512 / AMX: on
    ("processor\t: 0\nFeatures\t: fp asimd\n", True),  # no x86 flags line (e.g. ARM): left alone
])
def test_wide_vector_cpu_reads_the_flags_line(tmp_path, text, wide):
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    assert _wide_vector_cpu(str(path)) is wide


def test_missing_cpuinfo_leaves_onednn_alone(tmp_path):
    assert _wide_vector_cpu(str(tmp_path / "absent")) is True


@pytest.mark.parametrize("value", ["0", "1"])
def test_an_explicit_setting_wins(value):
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=value)
    out = subprocess.run([sys.executable, "-c", "import keras_depth, os; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"],
                         env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == value
