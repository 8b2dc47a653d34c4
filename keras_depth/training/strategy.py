"""tf.distribute strategies by name. Models and optimizers are always built inside ``scope()``."""
from __future__ import annotations

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
        # Workers and their roles come from TF_CONFIG, as tf.distribute documents.
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
