"""Evaluation reports: eval sets, predictors for every model kind, the metric protocol, tables and plots.

- ``eval_sets``: what is evaluated on at the model's input size (a config split, ``eval.datasets``, the
  NYU FastDepth sample);
- ``real_frames``: every labelled real RGB-D frame of ../shared/data, centre-cropped to each model's
  aspect and scored per source at the ground truth's resolution (``--data real_rgbd``);
- ``variant_id``: the structured key of every result (``VariantId``) and its display label;
- ``predictors``: uint8 RGB -> depth for a Keras model, a SavedModel, a ``.tflite`` (through its
  manifest), a peer, or a constant;
- ``protocol``: the one metric protocol (alignment, caps, crop, averaging) and ``evaluate_predictors``;
- ``report``: the Markdown/JSON table, the sample figure and the plots;
- ``run``: ``evaluate_run``, what ``keras-depth evaluate`` and the quickstart call, and
  ``evaluate_real_frames``.

The int8 calibration sweep, which converts models and scores them here, is ``export.calibration_sweep``.
"""
