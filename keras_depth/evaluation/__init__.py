"""Evaluation reports: eval sets, predictors for every model kind, the metric protocol, tables and plots."""
