"""keras-depth: monocular depth networks for phones, from tf.data to int8 TFLite."""
import os as _os

# tfmot 0.8 only quantizes Keras 2 models, so tf_keras must back tf.keras before TensorFlow loads.
_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _wide_vector_cpu(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True unless this is a Linux x86 CPU without AVX-512 (so without AMX or native bf16 either)."""
    try:
        with open(cpuinfo) as f:
            flags = next((line for line in f if line.startswith("flags")), None)
    except OSError:
        return True
    return flags is None or "avx512f" in flags.split()


# TensorFlow's oneDNN kernels (its x86 default) trained the default model 5-10 % slower than its Eigen
# kernels on an AVX2-only CPU (docs/training.md; benchmarks/bench_training.py measures both in one
# run). With AVX-512 or AMX, oneDNN is what runs bf16 natively, so it stays on there. An explicit
# TF_ENABLE_ONEDNN_OPTS always wins; it must be set before TensorFlow loads, as here.
if not _wide_vector_cpu():
    _os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"
