"""Ctrl-C during ``model.fit`` stops at the next batch end, never lost.

Python raises ``KeyboardInterrupt`` at the main thread's next bytecode boundary. When that boundary is
inside a finalizer (TensorFlow's iterators and resources have ``__del__``), Python prints "Exception
ignored" and carries on: a ``keras-depth train`` with 100000 epochs went on training for 17 minutes
after its SIGINT (the bad-input catalogue's sigint case, fresh-clone CI, session 9). So the handler
only records the request, and ``DeferredInterrupt`` raises it from a callback, in the training loop's
own code; the run then ends as before (exit 130, the last epoch's backup kept). A second Ctrl-C
interrupts at once.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

from keras_depth.kerasapi import keras


class DeferredInterrupt(keras.callbacks.Callback):
    """Raises ``KeyboardInterrupt`` at the first batch or epoch end after a SIGINT (see module)."""

    def __init__(self) -> None:
        super().__init__()
        self.requested = False

    def handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def _check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    def on_train_batch_end(self, batch, logs=None) -> None:
        self._check()

    def on_epoch_end(self, epoch, logs=None) -> None:
        self._check()


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[DeferredInterrupt]:
    """A ``DeferredInterrupt`` whose handler owns SIGINT while inside (main thread only: elsewhere
    Python cannot install one, and the callback then never fires), the previous handler restored after."""
    callback = DeferredInterrupt()
    if threading.current_thread() is not threading.main_thread():
        yield callback
        return
    previous = signal.signal(signal.SIGINT, callback.handle)
    try:
        yield callback
    finally:
        signal.signal(signal.SIGINT, previous)
