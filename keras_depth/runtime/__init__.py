"""Running exported models as a phone runs them: the manifest (read and checked), the LiteRT runtime
driven by it, SavedModels, the peer models, and the one latency timer.

Used by ``keras_depth.ar``, ``keras_depth.evaluation``, ``keras_depth.distill`` and ``export``; it
imports nothing of Keras models or training, and TensorFlow only to run a SavedModel. Writing a
manifest (at export) is ``export.manifest``'s job.
"""
