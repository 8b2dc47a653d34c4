"""Depth of a user's own images: ``keras_depth.load(model).predict(rgb)`` -> ``DepthResult``."""
