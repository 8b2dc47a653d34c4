"""What a student learns from a teacher, by the teacher's semantics: the one table ``distill`` uses.

| teacher semantics | student output | train.mode | losses (existing, ``keras_depth.losses``) | eval.alignment |
|---|---|---|---|---|
| metric | metric depth | supervised-metric | SILog (Eigen et al. 2014, lam 0.85) + 0.5 log-L1 | none |
| relative | relative depth | relative | SILog with lam 1: exactly scale-invariant | median |
| affine_disparity | affine-invariant disparity | relative | MiDaS SSI (median) + gradient matching | lstsq_disparity |

Nothing is per teacher: a new teacher only states its semantics. ``distill.losses`` overrides the
losses; the student's spec keeps the config's depth range (``min_depth``, ``max_depth``).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from keras_depth.config import Config
from keras_depth.errors import UsageError
from keras_depth.spec import SEMANTICS_CODES

RECIPES: dict[str, dict[str, Any]] = {
    "metric": {"mode": "supervised-metric", "kind": "depth", "alignment": "none",
               "losses": [{"name": "silog", "weight": 1.0, "lam": 0.85}, {"name": "log_l1", "weight": 0.5}]},
    "relative": {"mode": "relative", "kind": "depth", "alignment": "median",
                 "losses": [{"name": "silog", "weight": 1.0, "lam": 1.0}]},
    "affine_disparity": {"mode": "relative", "kind": "disparity", "alignment": "lstsq_disparity",
                         "losses": [{"name": "ssi_gm", "weight": 1.0, "ssi": "median", "alpha": 0.2}]},
}


def student_config(config: Config, semantics: str, data_train: list, data_val: list) -> Config:
    """``config`` set up to train a student of a ``semantics`` teacher on ``data_train`` (pseudo-label
    entries plus ``config.data.train``) and validate on ``data_val``."""
    if semantics not in SEMANTICS_CODES:
        raise UsageError(f"teacher semantics {semantics!r}: expected one of {sorted(SEMANTICS_CODES)}")
    recipe = RECIPES[semantics]
    spec = dict(config.model.spec, kind=recipe["kind"], semantics=semantics)
    losses = config.distill.losses if config.distill.losses is not None else recipe["losses"]
    return dataclasses.replace(
        config,
        data=dataclasses.replace(config.data, train=list(data_train), val=list(data_val)),
        model=dataclasses.replace(config.model, spec=spec),
        train=dataclasses.replace(config.train, mode=recipe["mode"], losses=[dict(t) for t in losses]),
        eval=dataclasses.replace(config.eval, alignment=recipe["alignment"]),
    )
