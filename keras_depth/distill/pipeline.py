"""``keras-depth distill``: teacher pseudo-labels on unlabelled real frames -> student (model.fit)
-> QAT -> int8 TFLite -> teacher vs student on real RGB-D frames -> report.

Stages (``STAGES``), each usable alone: ``label`` writes the pseudo-label cache; ``train`` the student
(``model.keras``); ``qat`` its QAT model (``model_qat.h5``); ``export`` the TFLite variants with their
manifests; ``evaluate`` the real-frame table and latencies (``distill_report.md``/``.json``). A stage
run alone reads what the earlier ones wrote in the output folder.

This module checks the inputs and labels the frames (``prepare``); ``keras_depth.cli.distill`` runs
the stages, since its ``export`` stage is ``export``'s, which sits above the library.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from keras_depth.config import Config
from keras_depth.errors import UsageError

if TYPE_CHECKING:
    from keras_depth.distill.teacher import Teacher
    from keras_depth.distill.unlabeled import FrameSource

STAGES = ("label", "train", "qat", "export", "evaluate")


@dataclasses.dataclass
class DistillRun:
    config: Config  # the student's config (recipe applied, pseudo-label entries in data.train/val)
    teachers: list[Teacher]
    sources: list[FrameSource]
    folders: list  # pseudo-label cache folders, one per source
    seconds: dict = dataclasses.field(default_factory=dict)  # stage -> wall seconds


def check_stages(stages: Sequence[str]) -> list[str]:
    bad = [s for s in stages if s not in STAGES]
    if bad or not stages:
        raise UsageError(f"--stages: {bad or 'nothing'}: expected some of {', '.join(STAGES)}")
    return [s for s in STAGES if s in stages]


def prepare(config: Config, log: Callable[[str], None] = print, unsafe: bool = False) -> DistillRun:
    """Load the teachers and check the sources (every one-line error before any heavy work), then
    label the frames (cached: a second run calls no teacher)."""
    from keras_depth.distill.pseudo_labels import common_semantics, label_source
    from keras_depth.distill.recipe import student_config
    from keras_depth.distill.teachers import load_teacher
    from keras_depth.distill.unlabeled import parse_sources

    d = config.distill
    if not d.teachers:
        raise UsageError("distill.teachers: expected at least one teacher block {kind, path, semantics} "
                         "(e.g. --set 'distill.teachers=[{kind: peer, path: fastdepth_224_int8}]')")
    if not 0 < d.confidence_threshold:
        raise UsageError(f"distill.confidence_threshold: expected a number > 0, got {d.confidence_threshold}")
    if d.label_short_side < 16 or d.holdout < 2 or d.latency_runs < 1:
        raise UsageError("distill.label_short_side >= 16, distill.holdout >= 2 and distill.latency_runs >= 1 expected, "
                         f"got {d.label_short_side}, {d.holdout}, {d.latency_runs}")
    sources = parse_sources(d.sources)
    teachers = [load_teacher(b, f"distill.teachers[{i}]", unsafe=unsafe) for i, b in enumerate(d.teachers)]
    semantics = common_semantics([t.semantics for t in teachers])
    start = time.time()
    tta = d.flip_tta and not any(t.spec.kind == "precomputed" for t in teachers)
    log(f"  teachers: {', '.join(f'{t.name} ({t.spec.kind}, {t.semantics}, input {t.input_hw[1]}x{t.input_hw[0]})' for t in teachers)}"
        f"; flip TTA {'on' if tta else 'off'}")
    folders = [label_source(teachers, s, Path(config.data.cache_dir), tta=tta, threshold=d.confidence_threshold,
                            short_side=d.label_short_side, strict=config.data.strict, log=log) for s in sources]
    seconds = {"label": time.time() - start}
    aspect = [int(v) for v in config.data.image_size]
    counts = [_frames(f) for f in folders]
    entries = [{"type": "pseudo_labels", "path": str(f), "holdout": d.holdout, "aspect": aspect,
                "weight": s.weight if s.weight is not None else n} for f, s, n in zip(folders, sources, counts)]
    train = [dict(e, split="train") for e in entries] + list(config.data.train)
    # Held-out frames of the sources big enough to spare every holdout-th one.
    val = [{k: v for k, v in e.items() if k != "weight"} | {"split": "val"} for e, n in zip(entries, counts) if n >= d.holdout]
    if not val:
        raise UsageError(f"distill.sources: no source has {d.holdout} frames to hold out every {d.holdout}th for "
                         "validation; add frames or lower distill.holdout")
    return DistillRun(student_config(config, semantics, train, val), teachers, sources, folders, seconds)


def _frames(folder: Path) -> float:
    return float(json.loads((Path(folder) / "meta.json").read_text())["frames"])


__all__ = ["DistillRun", "STAGES", "check_stages", "prepare"]
