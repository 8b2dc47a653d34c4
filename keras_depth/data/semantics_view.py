"""A dataset seen with weaker semantics than it has, to train and test mixing (MiDaS, Ranftl et al.,
TPAMI 2022, Sec. 4) on data whose truth is known.

``{type: semantics_view, semantics: relative, source: {type: synthetic, ...}}`` turns each metric
sample into what a dataset of that kind would hold:

- ``relative``: depth times an unknown positive scale per image (as from SfM reconstructions);
- ``affine_disparity``: ``s / depth + t`` with an unknown scale ``s > 0`` and shift ``t >= 0`` per
  image (as from stereo films or web stereo with unknown baseline and principal-point offset);
- ``metric``: unchanged.

The draws are stateless per element (``seed``, index), so a sample keeps its scale and shift across
epochs, as a real dataset's would.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import tensorflow as tf

from keras_depth import spec
from keras_depth.data.registry import build_dataset, register_dataset
from keras_depth.errors import UsageError


def _range(name: str, value: Sequence[float], low: float) -> tuple[float, float]:
    ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)
    if not ok or not (low <= value[0] <= value[1]):
        raise UsageError(f"semantics_view {name}: expected [lo, hi] with {low} <= lo <= hi, got {value!r}")
    return float(value[0]), float(value[1])


def convert_semantics(sample: dict[str, tf.Tensor], semantics: str, scale: tf.Tensor, shift: tf.Tensor) -> dict[str, tf.Tensor]:
    """A metric raw sample -> the same view with ``semantics`` (scale, shift: scalars)."""
    out = dict(sample)
    valid = sample["mask"] > 0.5
    depth = sample["depth"]
    if semantics == "relative":
        value = depth * scale
    elif semantics == "affine_disparity":
        value = scale / tf.where(valid, depth, tf.ones_like(depth)) + shift
    else:
        return out
    out["depth"] = tf.where(valid, value, tf.zeros_like(value))
    out["semantics"] = tf.constant(spec.SEMANTICS_CODES[semantics], tf.int32)
    return out


@register_dataset("semantics_view")
def semantics_view_dataset(
    source: dict,
    semantics: str = "relative",
    scale_range: Sequence[float] = (0.2, 5.0),
    shift_range: Sequence[float] = (0.0, 0.5),
    seed: int = 0,
    cache_dir: Optional[str] = None,
    strict: bool = False,
) -> tf.data.Dataset:
    """Raw samples of ``source`` (a dataset entry with metric ground truth) relabelled as ``semantics``."""
    if semantics not in spec.SEMANTICS_CODES:
        raise UsageError(f"semantics_view semantics: expected one of {sorted(spec.SEMANTICS_CODES)}, got {semantics!r}")
    if not isinstance(source, dict):
        raise UsageError(f"semantics_view source: expected a dataset entry {{type: ...}}, got {source!r}")
    lo_s, hi_s = _range("scale_range", scale_range, 1e-6)
    lo_t, hi_t = _range("shift_range", shift_range, 0.0)
    context: dict[str, Any] = {"seed": seed, "strict": strict}
    if cache_dir is not None:
        context["cache_dir"] = cache_dir
    ds = build_dataset(source, **context)

    def relabel(index: tf.Tensor, sample: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        key = tf.stack([tf.cast(seed, tf.int64), index])
        u = tf.random.stateless_uniform([2], key)
        # Log-uniform scale: a factor and its inverse are equally likely.
        scale = tf.exp(tf.math.log(lo_s) + u[0] * (tf.math.log(hi_s) - tf.math.log(lo_s)))
        shift = lo_t + u[1] * (hi_t - lo_t)
        return convert_semantics(sample, semantics, scale, shift)

    return ds.enumerate().map(relabel, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
