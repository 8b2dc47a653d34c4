"""Mixing datasets of different kinds with sampling weights (MiDaS, Ranftl et al., TPAMI 2022, Sec. 4).

Every sample keeps its ``semantics`` code, so a loss can apply the invariance its ground truth allows
(none for metric depth, scale for relative depth, scale and shift for disparity).
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import tensorflow as tf

from keras_depth.data.augment import resize_sample
from keras_depth.errors import UsageError

CONTRACT_KEYS = ("image", "depth", "mask", "semantics", "intrinsics")


def _contract_only(sample: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    return {k: sample[k] for k in CONTRACT_KEYS}


def mix_datasets(
    datasets: Sequence[tf.data.Dataset],
    weights: Sequence[float],
    seed: Optional[int] = None,
    *,
    out_size: Optional[Sequence[int]] = None,
    transform: Optional[Callable[[dict], dict]] = None,
    repeat: bool = True,
    num_parallel_calls: Any = tf.data.AUTOTUNE,
) -> tf.data.Dataset:
    """One stream drawing from ``datasets`` with probabilities proportional to ``weights``
    (``tf.data.Dataset.sample_from_datasets``, reproducible for a given ``seed``).

    Samples are reduced to the contract keys (a stereo pair contributes its left view), then brought to
    one size: ``transform`` (e.g. ``functools.partial(augment_sample, out_size=..., ...)``) when given,
    else ``resize_sample(out_size)``. Without either, every source must already have the same static
    shape. ``repeat``: repeat each source, so a small one is not exhausted (the stream is infinite).
    """
    if len(datasets) == 0:
        raise UsageError("mix_datasets: expected at least one dataset")
    if len(weights) != len(datasets):
        raise UsageError(f"mix_datasets: {len(datasets)} datasets but {len(weights)} weights")
    w = [float(x) for x in weights]
    if any(x < 0 for x in w) or sum(w) <= 0:
        raise UsageError(f"mix_datasets: weights must be >= 0 with a positive sum, got {list(weights)}")
    if transform is None and out_size is not None:
        size = [int(out_size[0]), int(out_size[1])]

        def transform(s: dict) -> dict:
            return resize_sample(s, size)

    prepared = []
    for i, ds in enumerate(datasets):
        missing = [k for k in CONTRACT_KEYS if k not in ds.element_spec]
        if missing:
            raise UsageError(f"mix_datasets: dataset {i} lacks {missing} (expected raw samples, docs/contracts.md)")
        ds = ds.map(_contract_only)
        if transform is not None:
            ds = ds.map(transform, num_parallel_calls=num_parallel_calls)
        if repeat:
            ds = ds.repeat()
        prepared.append(ds)
    specs = [tuple(ds.element_spec[k].shape for k in ("image", "depth", "mask")) for ds in prepared]
    if any(not all(s.is_fully_defined() for s in spec) for spec in specs) or len(set(map(str, specs))) > 1:
        if len(prepared) > 1:
            raise UsageError(
                f"mix_datasets: sources have different or unknown sizes {[[str(s) for s in sp] for sp in specs]}; give out_size or a transform"
            )
    total = sum(w)
    return tf.data.Dataset.sample_from_datasets(prepared, weights=[x / total for x in w], seed=seed,
                                                stop_on_empty_dataset=False)

