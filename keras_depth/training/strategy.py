"""tf.distribute strategies by name, and what a multi-worker run needs besides: chief-only writing and
input sharded by data. Models and optimizers are always built inside ``scope()``."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import tensorflow as tf

from keras_depth.errors import UsageError

STRATEGIES = ("auto", "none", "mirrored", "multiworker", "tpu")


def get_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """``auto``: MirroredStrategy over all GPUs when there are several, else the default strategy."""
    if name not in STRATEGIES:
        raise UsageError(f"train.distribute: expected one of {STRATEGIES}, got {name!r}")
    if name == "auto":
        name = "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "none"
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        # Workers and their roles come from TF_CONFIG, as tf.distribute documents. It configures
        # collective ops, which only works before TensorFlow runs anything: create it first.
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def is_multiworker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


@contextlib.contextmanager
def writing_dir(output_dir: str | os.PathLike, strategy: tf.distribute.Strategy) -> Iterator[Path]:
    """Where this worker writes its run files: ``output_dir`` on the chief (and without a cluster);
    on any other worker a temporary folder, deleted at the end. Every worker still saves (saving may
    read variables collectively), as the tf.distribute multi-worker Keras guide prescribes; only the
    chief's copies are kept."""
    if strategy.extended.should_checkpoint:
        yield Path(output_dir)
        return
    task = getattr(strategy.cluster_resolver, "task_id", "x")
    tmp = Path(tempfile.mkdtemp(prefix=f"keras-depth-worker{task}-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Options for a dataset that ``fit`` distributes over workers: each worker runs the whole
    pipeline and keeps its own share of the elements (``AutoShardPolicy.DATA``), so no sample is seen
    twice in an epoch; that needs every worker to produce the same order, hence ``deterministic``."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = True
    return dataset.with_options(options)
