#!/usr/bin/env bash
# The GPU check (issue 16): on a machine with an NVIDIA GPU, train the quickstart model for a fixed
# number of steps in float32, in mixed precision (mixed_float16, and mixed_bfloat16) and with XLA,
# through the real trainer, and print images/s and the fraction of the GPU's measured matmul peak.
# Under 8 minutes (most of it the pip install on a fresh machine).
#
#   bash benchmarks/gpu_check.sh                 # venv in .venv-gpu, 60 timed steps per variant
#   VENV=/path/to/venv STEPS=100 bash benchmarks/gpu_check.sh
#
# The Python part is `python -m benchmarks.bench_training --device gpu`; tests/test_gpu_check.py runs the
# same code path on a CPU (`--check`), so CI covers the policy, the XLA step and the float32 save.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv-gpu}"
STEPS="${STEPS:-60}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || \
  echo "warning: nvidia-smi not found; TensorFlow may not see a GPU" >&2
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# The pinned runtime, then TensorFlow's CUDA wheels (the `gpu` extra of pyproject.toml).
"$VENV/bin/python" -m pip install --quiet -r requirements.txt "tensorflow[and-cuda]==2.21.*"
"$VENV/bin/python" -m pip install --quiet --no-deps -e .
export TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=2
"$VENV/bin/python" -c 'import tensorflow as tf, sys; g = tf.config.list_physical_devices("GPU"); print("GPUs:", g); sys.exit(0 if g else "error: TensorFlow sees no GPU")'
mkdir -p runs
time timeout 420 "$VENV/bin/python" -m benchmarks.bench_training --device gpu --steps "$STEPS" --json "${OUT:-runs/gpu_check.json}"
