"""Ctrl-C during fit (keras_depth/training/interrupt.py): recorded by the handler, raised at the next
batch or epoch end, at once on a second Ctrl-C; the previous handler back afterwards."""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from keras_depth.kerasapi import keras
from keras_depth.training.interrupt import deferred_interrupt


def test_sigint_is_raised_at_the_next_batch_end_and_the_handler_restored():
    before = signal.getsignal(signal.SIGINT)
    with deferred_interrupt() as stop:
        assert signal.getsignal(signal.SIGINT) == stop.handle
        os.kill(os.getpid(), signal.SIGINT)  # recorded, not raised here
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            stop.on_train_batch_end(0)
    assert signal.getsignal(signal.SIGINT) is before


def test_a_second_sigint_interrupts_at_once():
    with deferred_interrupt():
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)


def test_fit_stops_after_the_batch_in_which_the_sigint_came():
    """A SIGINT sent from inside batch 3 of 20 ends fit with KeyboardInterrupt after that batch."""
    x = keras.Input((2,))
    model = keras.Model(x, keras.layers.Dense(1)(x))
    model.compile("sgd", "mse")
    seen = []

    class SendAtBatch3(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)
            if batch == 3:
                os.kill(os.getpid(), signal.SIGINT)

    data = np.zeros((20, 2), np.float32), np.zeros((20, 1), np.float32)
    with deferred_interrupt() as stop, pytest.raises(KeyboardInterrupt):
        model.fit(*data, batch_size=1, epochs=1, verbose=0, callbacks=[SendAtBatch3(), stop])
    assert seen == [0, 1, 2, 3]
