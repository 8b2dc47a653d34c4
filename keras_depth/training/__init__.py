"""Training through ``model.fit``: strategy, optimizer, callbacks, saving."""
