"""BatchNormalization after training: the momentum of its moving statistics, and precise BN."""
from __future__ import annotations

import contextlib
from typing import Iterator, Optional

import tensorflow as tf

from keras_depth.errors import UsageError
from keras_depth.kerasapi import keras


def set_batchnorm_momentum(model: keras.Model, momentum: Optional[float]) -> None:
    """Set every BatchNormalization layer's momentum (None: leave them). Only the moving-statistics
    update uses it, so the inference graph is unchanged."""
    if momentum is None:
        return
    if not 0.0 <= momentum < 1.0:
        raise UsageError(f"train.batchnorm_momentum: expected a value in [0, 1), got {momentum!r}")
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = float(momentum)


def recompute_batchnorm_statistics(model: keras.Model, dataset: tf.data.Dataset, batches: int,
                                   strategy: Optional[tf.distribute.Strategy] = None) -> int:
    """Precise BN (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021): set every BatchNormalization
    layer's moving mean and variance to the average of its batch statistics over ``batches`` batches
    of ``dataset`` (its first element per batch is the model input), the model running in training
    mode as it did in ``fit``. Batch k is averaged in with momentum (k-1)/k, so the result is the
    plain mean over the batches. Weights are untouched. Returns the number of batches used."""
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not bns or batches <= 0:
        return 0
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        momentum = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="precise_bn_momentum")
    saved = [layer.momentum for layer in bns]

    def forward(x):
        model(x, training=True)

    @tf.function
    def step(element):
        strategy.run(forward, args=(element[0] if isinstance(element, (tuple, list)) else element,))

    n = 0
    try:
        # A variable momentum is read when the step runs (a float would be baked into the trace);
        # object.__setattr__ keeps Keras from tracking it as a weight of the layer.
        for layer in bns:
            object.__setattr__(layer, "momentum", momentum)
        for element in strategy.experimental_distribute_dataset(dataset.take(batches)):
            n += 1
            momentum.assign((n - 1) / n)
            step(element)
    finally:
        for layer, m in zip(bns, saved):
            object.__setattr__(layer, "momentum", m)
    return n


@contextlib.contextmanager
def synchronized_batchnorm(model: keras.Model, enabled: bool) -> Iterator[None]:
    """While training, every BatchNormalization layer takes its batch statistics over the global
    batch, all replicas together (Keras's ``synchronized=True``; ``train.sync_batchnorm``), so N
    workers with a global batch B normalise as one process with batch B does. The layers go back to
    their fused, unsynchronized form afterwards, so the saved model is the one that was built."""
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)] if enabled else []
    saved = [(layer.synchronized, layer.fused) for layer in bns]
    try:
        for layer in bns:
            layer.synchronized, layer.fused = True, False  # Keras has no fused synchronized kernel
        yield
    finally:
        for layer, (synchronized, fused) in zip(bns, saved):
            layer.synchronized, layer.fused = synchronized, fused
