"""The key of every evaluation result: which model it is, not how it is displayed.

Results keyed by display strings ("tflite int8_qat") let two files of one variant overwrite each
other; a ``VariantId`` keeps the file, and ``unique_labels`` derives display labels that stay unique.
"""
from __future__ import annotations

import collections
import dataclasses
from pathlib import Path
from typing import Iterable, Optional

KINDS = ("baseline", "keras", "saved_model", "tflite", "peer")


@dataclasses.dataclass(frozen=True)
class VariantId:
    """``kind`` (one of ``KINDS``); ``name`` (the manifest's variant for a ``tflite``, the peer's name,
    ``float`` for Keras, ``constant median`` for the baseline); ``path`` (the model file or folder;
    None for a model in memory)."""

    kind: str
    name: str
    path: Optional[str] = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"VariantId kind: expected one of {KINDS}, got {self.kind!r}")

    @property
    def label(self) -> str:
        """The display label: ``baseline (constant median)``, ``keras float``, ``tflite int8_qat``, ..."""
        if self.kind == "baseline":
            return f"baseline ({self.name})"
        if self.kind == "keras":
            return f"keras {self.name}" if self.path is None else f"keras {self.name} ({Path(self.path).name})"
        if self.kind == "saved_model":
            return "saved_model"
        return f"{self.kind} {self.name}"

    @property
    def is_int8(self) -> bool:
        """An integer model: our int8 variants, and the peers (which ship as int8)."""
        return self.kind == "peer" or (self.kind == "tflite" and "int8" in self.name)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def unique_labels(ids: Iterable[VariantId]) -> dict[VariantId, str]:
    """A display label per id, unique among ``ids``: the plain label, with the path added where two
    ids share it (two ``.tflite`` files of one variant), and a counter as the last resort."""
    ids = list(dict.fromkeys(ids))
    counts = collections.Counter(i.label for i in ids)
    labels = {i: (f"{i.label} ({i.path})" if counts[i.label] > 1 and i.path else i.label) for i in ids}
    seen: collections.Counter = collections.Counter()
    for i in ids:
        seen[labels[i]] += 1
        if seen[labels[i]] > 1:
            labels[i] = f"{labels[i]} #{seen[labels[i]]}"
    return labels


def find(results: dict[VariantId, dict], kind: str, name: Optional[str] = None) -> Optional[dict]:
    """The result of the first model of ``kind`` (and ``name``, when given), or None."""
    return next((r for v, r in results.items() if v.kind == kind and (name is None or v.name == name)), None)
