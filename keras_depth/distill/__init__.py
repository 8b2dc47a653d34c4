"""Distillation: any teacher's depth on unlabelled real frames -> a phone-sized int8 student
(keras_depth.distill.pipeline; docs/distill.md)."""
