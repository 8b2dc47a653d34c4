"""Distillation: any teacher's depth on unlabelled real frames -> a phone-sized int8 student
(docs/distill.md).

- ``teacher``, ``teachers``: a loaded teacher and the loaders of each kind (the ``TeacherSpec`` of a
  ``teacher:`` block is ``keras_depth.teacher_spec``);
- ``unlabeled``: the frame sources; ``pseudo_labels``: flip TTA, confidence mask, several teachers,
  the cache (read back by the ``pseudo_labels`` dataset type, ``keras_depth.data.readers``);
- ``recipe``: teacher semantics -> the student's loss, mode and output;
- ``pipeline``: checking the inputs and labelling the frames; ``report``: teacher against student.

The stages run in ``keras_depth.cli.distill``, whose ``export`` stage is ``export``'s.
"""
